import * as fsp from 'node:fs/promises';

/** The file handle operations the zone file backend uses (a subset of `FileHandle`). */
export interface ZoneFileHandle {
  writeFile(data: string, encoding: 'utf8'): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file system operations the zone file backend uses, shaped like `node:fs/promises` so that
 * the real module satisfies it. Tests inject a wrapper to provoke I/O failures.
 */
export interface ZoneFileFs {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  /** With `flag: 'wx'` this is the O_CREAT|O_EXCL create the lock relies on. */
  writeFile(
    path: string,
    data: string,
    options: { encoding: 'utf8'; flag: string; mode?: number },
  ): Promise<void>;
  open(path: string, flags: string, mode?: number): Promise<ZoneFileHandle>;
  rename(oldPath: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  link(existingPath: string, newPath: string): Promise<void>;
  stat(path: string): Promise<{ mode: number; mtimeMs: number }>;
  chmod(path: string, mode: number): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
}

export const nodeFs: ZoneFileFs = fsp;

/** The `code` of a Node.js system error (`ENOENT`, `EEXIST`, …), if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
