/**
 * Base class for every error apexalias raises on purpose. `code` is stable and machine-readable
 * (in the style of undici's `UND_ERR_*`); `message` is for people and says what to do next.
 */
export class ApexAliasError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Raised for an invalid manifest, flag or configuration value. Never retried. */
export class ValidationError extends ApexAliasError<'ERR_VALIDATION'> {
  readonly problems: string[];
  constructor(message: string, problems: string[] = []) {
    super('ERR_VALIDATION', problems.length ? `${message}:\n  - ${problems.join('\n  - ')}` : message);
    this.problems = problems;
  }
}
