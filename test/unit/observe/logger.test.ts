import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { aliasLogger, createLogger, registerSecret } from '../../../src/observe/logger.ts';

function capture(format: 'json' | 'text'): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk).trim());
      cb();
    },
  });
  return { lines, logger: createLogger({ format, stream, level: 'debug' }) };
}

describe('logger', () => {
  it('never prints a registered secret, in the message or in any field, JSON or text', () => {
    const secret = 'c2VjcmV0LXRzaWcta2V5LW1hdGVyaWFsLTAxMjM0NTY3';
    registerSecret(secret);
    for (const format of ['json', 'text'] as const) {
      const { lines, logger } = capture(format);
      logger.error(`failed with ${secret}`, {
        detail: { nested: [`x${secret}y`] },
        error: new Error(secret).message,
      });
      logger.info('key', {
        secret: 'plain-but-named-secret',
        apiKey: 'k-123456',
        tsigSecret: Buffer.from('raw'),
      });
      const all = lines.join('\n');
      expect(all).not.toContain(secret);
      expect(all).not.toContain('plain-but-named-secret');
      expect(all).not.toContain('k-123456');
      expect(all).toContain('[REDACTED]');
    }
  });

  it('stamps namespace, name, zone and target on every line about an alias', () => {
    const { lines, logger } = capture('json');
    aliasLogger(logger, {
      namespace: 'web',
      name: 'apex',
      zone: 'example.com',
      target: 'lb.example.net',
    }).warn('x');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      namespace: 'web',
      name: 'apex',
      zone: 'example.com',
      target: 'lb.example.net',
      level: 'warn',
      message: 'x',
    });
  });
});
