import type { Logger } from '../observe/logger.ts';

/** Below this many aliases a pass is quick enough to need no progress report. */
const QUIET_BELOW = 200;
const LOG_EVERY_MS = 2000;

/**
 * Progress of a long pass: a line redrawn in place on a terminal, otherwise a log line every
 * two seconds, so that a 10,000-alias sync never looks hung.
 */
export class Progress {
  readonly #total: number;
  readonly #logger: Logger;
  readonly #tty = Boolean(process.stderr.isTTY);
  #lastLog = 0;
  #drawn = false;

  constructor(total: number, logger: Logger) {
    this.#total = total;
    this.#logger = logger;
  }

  update(phase: string, done: number, total: number): void {
    if (this.#total < QUIET_BELOW) return;
    if (this.#tty) {
      process.stderr.write(
        `\r${phase}: ${done}/${total} (${Math.floor((100 * done) / Math.max(1, total))}%)   `,
      );
      this.#drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.#lastLog >= LOG_EVERY_MS || done === total) {
      this.#lastLog = now;
      this.#logger.info('progress', { phase, done, total });
    }
  }

  done(): void {
    if (this.#drawn) process.stderr.write('\n');
    this.#drawn = false;
  }
}
