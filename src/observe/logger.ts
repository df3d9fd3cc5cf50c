import winston from 'winston';

export type LogFormat = 'json' | 'text';
export type Logger = winston.Logger;

const SECRET_KEYS = /secret|password|api[-_]?key|token|authorization/i;
const REDACTED = '[REDACTED]';

/**
 * Secret values loaded at run time (TSIG secrets, API keys). Any log line that would contain
 * one has it replaced, whatever field or message it hides in.
 */
const knownSecrets = new Set<string>();

/** Registers a secret so that it can never appear in a log line. */
export function registerSecret(value: string): void {
  if (value.length >= 4) knownSecrets.add(value);
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const s of knownSecrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (Buffer.isBuffer(value)) return REDACTED;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? REDACTED : scrub(v, depth + 1);
  return out;
}

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const record = info as Record<string, unknown>;
    record[key] = SECRET_KEYS.test(key) ? REDACTED : scrub(record[key]);
  }
  return info;
});

const text = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp)} ${String(level).toUpperCase().padEnd(5)} ${String(message)}${fields ? ' ' + fields : ''}`;
});

/**
 * Creates the process logger. JSON is for machines (one object per line); text is for people.
 * Both pass through the redaction format, so secrets never reach any transport.
 */
export function createLogger(opts: {
  level?: string;
  format?: LogFormat;
  stream?: NodeJS.WritableStream;
}): Logger {
  const format = winston.format.combine(
    redact(),
    winston.format.timestamp(),
    winston.format.errors({ stack: false }),
    opts.format === 'text' ? text : winston.format.json(),
  );
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Stream({ stream: process.stderr });
  return winston.createLogger({ level: opts.level ?? 'info', format, transports: [transport] });
}

/** The fields every log line about one alias carries. */
export interface AliasLogFields {
  namespace: string;
  name: string;
  zone: string;
  target: string;
}

/** A child logger that stamps namespace, name, zone and target on every line. */
export function aliasLogger(logger: Logger, alias: AliasLogFields): Logger {
  return logger.child({
    namespace: alias.namespace,
    name: alias.name,
    zone: alias.zone,
    target: alias.target,
  });
}
