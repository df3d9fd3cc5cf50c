/**
 * npm runs a package's bin under `sh -c` (npx, npm exec, npm run), and sh passes no signal on:
 * when npm is signalled without a terminal (a CI job cancelled, a service manager stopping
 * `npx apexalias sync --watch`), npm and sh die and apexalias would run on with no parent. So,
 * when started by npm, apexalias watches its parent and stops as on SIGTERM once it is gone.
 * Started any other way (the installed bin, `node bin/apexalias.js`, nohup), it does not: a
 * process left running on purpose keeps running.
 */

/** How often the parent is checked. Cheap: one getppid(2) per tick. */
export const PARENT_CHECK_MS = 500;

export interface OrphanWatchOptions {
  /** Defaults to `process.env`; the watch runs only when npm started the process. */
  env?: NodeJS.ProcessEnv;
  /** The parent's PID now; `process.ppid` by default. */
  ppid?: () => number;
  intervalMs?: number;
  /** What to do once orphaned; by default a SIGTERM to itself, so the usual shutdown runs. */
  onOrphaned?: () => void;
}

/**
 * Starts the watch when npm started this process (`npm_command` is set). The timer does not
 * keep the process alive. Returns a function that stops the watch.
 */
export function stopWhenOrphaned(options: OrphanWatchOptions = {}): () => void {
  const env = options.env ?? process.env;
  if (env.npm_command === undefined) return () => undefined;
  const ppid = options.ppid ?? (() => process.ppid);
  const parent = ppid();
  const onOrphaned = options.onOrphaned ?? (() => process.kill(process.pid, 'SIGTERM'));
  const timer = setInterval(() => {
    if (ppid() === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, options.intervalMs ?? PARENT_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
