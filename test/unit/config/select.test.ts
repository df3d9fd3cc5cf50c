import { describe, expect, it } from 'vitest';
import { ConfigError, backendForZone, validateConfig, zoneAllowed } from '../../../src/config/index.ts';
import type { Config } from '../../../src/config/index.ts';

function config(obj: Record<string, unknown>): Config {
  const result = validateConfig(obj);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.value;
}

const rfc = (name: string, zones: string[]) => ({
  name,
  type: 'rfc2136',
  zones,
  server: '127.0.0.1',
  insecureNoTsig: true,
});

describe('backendForZone', () => {
  const c = config({
    backends: [
      rfc('primary', ['example.com', 'shared.test']),
      rfc('secondary', ['shared.test']),
      { name: 'files', type: 'zonefile', zones: ['*'] },
    ],
  });

  it('picks the backend that lists the zone, ignoring case and the trailing dot', () => {
    expect(backendForZone(c, 'Example.COM.').name).toBe('primary');
  });

  it('falls back to the backend that serves every zone', () => {
    expect(backendForZone(c, 'other.test').name).toBe('files');
  });

  it('wants spec.backend when several backends list the zone', () => {
    expect(() => backendForZone(c, 'shared.test')).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_AMBIGUOUS_BACKEND' }) as unknown as Error,
    );
    expect(() => backendForZone(c, 'shared.test')).toThrow(
      /several backends \(primary, secondary\); set spec.backend/,
    );
    expect(backendForZone(c, 'shared.test', 'secondary').name).toBe('secondary');
  });

  it('honours a requested backend only when it serves the zone', () => {
    expect(backendForZone(c, 'example.com', 'files').name).toBe('files');
    const err = (() => {
      try {
        backendForZone(c, 'example.com', 'secondary');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'ERR_CONFIG_NO_BACKEND' });
  });

  it('names the unknown backend', () => {
    expect(() => backendForZone(c, 'example.com', 'tertiary')).toThrow(
      'backend "tertiary" is not in the controller configuration (backends: primary, secondary, files)',
    );
  });

  it('says how to fix a zone nobody serves', () => {
    const only = config({ backends: [rfc('primary', ['example.com'])] });
    let err: unknown;
    try {
      backendForZone(only, 'example.org');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'ERR_CONFIG_NO_BACKEND',
      message: 'no backend serves zone example.org; add it to backends[].zones',
    });
  });
});

describe('zoneAllowed', () => {
  it('allows everything without an allow section', () => {
    expect(zoneAllowed(config({ backends: [rfc('p', ['a.test'])] }), 'any', 'any.zone')).toBe(true);
  });

  it('allows nothing with an empty allow list', () => {
    expect(zoneAllowed(config({ backends: [rfc('p', ['a.test'])], allow: [] }), 'any', 'a.test')).toBe(false);
  });

  const c = config({
    backends: [rfc('p', ['a.test'])],
    allow: [
      { namespaces: ['team-a'], zones: ['example.com', '*.example.org'] },
      { namespaces: ['*'], zones: ['shared.test'] },
      { namespaces: ['admin'], zones: ['*'] },
    ],
  });

  it.each([
    ['team-a', 'example.com', true],
    ['team-a', 'Example.com.', true],
    ['team-a', 'www.example.com', false],
    ['team-a', 'eu.example.org', true],
    ['team-a', 'a.b.example.org', true],
    ['team-a', 'example.org', false],
    ['team-a', 'badexample.org', false],
    ['team-b', 'example.com', false],
    ['team-b', 'shared.test', true],
    ['admin', 'anything.else', true],
  ])('%s may manage %s: %s', (namespace, zone, allowed) => {
    expect(zoneAllowed(c, namespace, zone)).toBe(allowed);
  });
});
