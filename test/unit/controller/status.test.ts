import { describe, expect, it } from 'vitest';
import {
  addressesSummary,
  inSyncCondition,
  lastKnownGood,
  outcomeConditions,
  reasonOf,
  semanticStatus,
  setConditions,
} from '../../../src/controller/status.ts';
import type { AliasOutcome } from '../../../src/engine/types.ts';
import { resolveFailureCode } from '../../../src/engine/types.ts';
import type { NameserverVerdict } from '../../../src/drift/nameservers.ts';

const base = (over: Partial<AliasOutcome> = {}): AliasOutcome => ({
  input: {
    namespace: 'ns',
    name: 'a',
    spec: {
      zone: 'example.com',
      name: '@',
      target: 'lb.example.net',
      addressFamilies: ['IPv4'],
      ttl: { max: 3600 },
      onTargetMissing: 'Keep',
      fallbackAddresses: [],
      driftPolicy: 'Correct',
      adopt: false,
    },
  },
  key: 'ns/a',
  fqdn: 'example.com',
  zone: 'example.com',
  resolved: {},
  written: false,
  refreshAt: 0,
  desired: {
    A: { action: 'write', rrset: { ttl: 60, addresses: ['192.0.2.1'] }, source: 'resolved' },
    AAAA: { action: 'remove', reason: 'FamilyNotRequested' },
    problems: [],
    chain: ['lb.example.net'],
    ttlBounds: { max: 3600 },
  },
  ...over,
});

const byType = (cs: ReturnType<typeof outcomeConditions>): Record<string, string> =>
  Object.fromEntries(cs.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('status conditions', () => {
  it('a written change, read back, is Ready', () => {
    const o = base({
      written: true,
      inSync: true,
      verdict: {
        kind: 'change',
        change: {} as never,
        reasons: [{ subject: 'A', kind: 'created', text: 'A: created' }],
      },
    });
    expect(byType(outcomeConditions(o, inSyncCondition(o)))).toEqual({
      Ready: 'True/Ready',
      Resolved: 'True/Resolved',
      Synced: 'True/Written',
      InSync: 'True/Confirmed',
    });
  });

  it('a write not yet read back is not confirmed', () => {
    const o = base({
      written: true,
      verdict: {
        kind: 'change',
        change: {} as never,
        reasons: [{ subject: 'A', kind: 'created', text: 'A: created' }],
      },
    });
    expect(byType(outcomeConditions(o, inSyncCondition(o)))).toMatchObject({
      Ready: 'False/NotChecked',
      InSync: 'Unknown/NotChecked',
    });
  });

  it('a blocked name is not Ready, with the planner reason', () => {
    const cs = outcomeConditions(
      base({ verdict: { kind: 'blocked', reason: 'NotOwned', message: 'set adopt' } }),
      undefined,
    );
    expect(byType(cs).Ready).toBe('False/NotOwned');
    expect(byType(cs).Synced).toBe('False/NotOwned');
  });

  it('a failed lookup makes Resolved False while the zone stays synced (behaviour rule 5)', () => {
    const o = base({ verdict: { kind: 'noop' } });
    o.desired!.problems.push({ type: 'A', reason: 'servfail', message: 'A: SERVFAIL' });
    o.failure = { stage: 'resolve', code: 'ERR_RESOLVE_SERVFAIL', message: 'A: SERVFAIL', retryable: true };
    const cs = byType(outcomeConditions(o, undefined));
    expect(cs).toMatchObject({
      Ready: 'False/Servfail',
      Resolved: 'False/Servfail',
      Synced: 'True/UpToDate',
    });
  });

  it('NXDOMAIN is TargetMissing', () => {
    const o = base({ verdict: { kind: 'noop' } });
    o.desired!.problems.push({ type: 'A', reason: 'nxdomain', message: 'gone' });
    expect(byType(outcomeConditions(o, undefined)).Resolved).toBe('False/TargetMissing');
  });

  it('a backend failure is Synced False with a CamelCase reason from the code', () => {
    const o = base({ verdict: { kind: 'change', change: {} as never, reasons: [] } });
    o.failure = { stage: 'backend', code: 'ERR_BACKEND_AUTH', message: 'BADSIG', retryable: false };
    expect(byType(outcomeConditions(o, undefined)).Synced).toBe('False/BackendAuth');
    expect(reasonOf('chain-too-long')).toBe('ChainTooLong');
  });

  it('lastTransitionTime moves only when the status changes', () => {
    const first = setConditions(
      undefined,
      [{ type: 'Ready', status: 'False', reason: 'A', message: '' }],
      1,
      't1',
    );
    const sameStatus = setConditions(
      first,
      [{ type: 'Ready', status: 'False', reason: 'B', message: '' }],
      2,
      't2',
    );
    const flipped = setConditions(
      sameStatus,
      [{ type: 'Ready', status: 'True', reason: 'Ready', message: '' }],
      2,
      't3',
    );
    expect([
      first[0]!.lastTransitionTime,
      sameStatus[0]!.lastTransitionTime,
      flipped[0]!.lastTransitionTime,
    ]).toEqual(['t1', 't1', 't3']);
    expect(sameStatus[0]!.observedGeneration).toBe(2);
  });

  it('timestamps alone are not worth a status patch', () => {
    const s = { ttl: 60, lastResolvedTime: 'a', conditions: [] };
    expect(JSON.stringify(semanticStatus(s))).toBe(
      JSON.stringify(semanticStatus({ ...s, lastResolvedTime: 'b' })),
    );
    expect(JSON.stringify(semanticStatus(s))).not.toBe(JSON.stringify(semanticStatus({ ...s, ttl: 30 })));
  });

  it('last-known-good comes back from status addresses and ttl', () => {
    expect(lastKnownGood({ ttl: 60, addresses: { ipv4: ['192.0.2.1'], ipv6: [] } })).toEqual({
      A: { ttl: 60, addresses: ['192.0.2.1'] },
    });
    expect(lastKnownGood(undefined)).toEqual({});
    expect(addressesSummary(['192.0.2.1'], ['2001:db8::1'])).toBe('192.0.2.1,2001:db8::1');
    expect(addressesSummary(['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4'], [])).toBe('4 addresses');
  });
});

describe('nameservers that do not answer (behaviour rule 13)', () => {
  const verdict = (over: Partial<NameserverVerdict>): NameserverVerdict => ({
    drifted: false,
    unreachable: false,
    types: {},
    detail: '',
    ...over,
  });

  it('regression: an unreachable nameserver is NameserverUnreachable, not NameserverDrift, and the alias stays Ready', () => {
    const o = base({
      inSync: true,
      verdict: { kind: 'noop' },
      nameservers: new Map([
        ['ns1.example.com', verdict({ types: { A: false } })],
        ['ns2.example.com', verdict({ unreachable: true, detail: 'A: 127.0.0.1:53 refused' })],
      ]),
    });
    const conditions = outcomeConditions(o, inSyncCondition(o));
    expect(byType(conditions)).toEqual({
      Ready: 'True/Ready',
      Resolved: 'True/Resolved',
      Synced: 'True/UpToDate',
      InSync: 'Unknown/NameserverUnreachable',
    });
    expect(conditions.find((c) => c.type === 'InSync')!.message).toContain('ns2.example.com');
  });

  it('a nameserver that answers with other records is still NameserverDrift and blocks Ready', () => {
    const o = base({
      inSync: true,
      verdict: { kind: 'noop' },
      nameservers: new Map([
        ['ns1.example.com', verdict({ drifted: true, types: { A: true }, detail: 'serves A 192.0.2.9' })],
        ['ns2.example.com', verdict({ unreachable: true, detail: 'timeout' })],
      ]),
    });
    expect(byType(outcomeConditions(o, inSyncCondition(o)))).toMatchObject({
      Ready: 'False/NameserverDrift',
      InSync: 'False/NameserverDrift',
    });
  });
});

describe('DNSSEC lookup failures (behaviour rule 5)', () => {
  it.each([
    ['dnssec-unvalidated', 'DnssecUnvalidated'],
    ['dnssec-bogus', 'DnssecBogus'],
  ] as const)(
    'a %s lookup is Resolved False with reason %s, and the alias is not Ready',
    (reason, condition) => {
      const o = base({ verdict: { kind: 'noop' } });
      o.desired!.problems.push({ type: 'A', reason, message: `A: ${reason}` });
      o.failure = {
        stage: 'resolve',
        code: resolveFailureCode(reason),
        message: `A: ${reason}`,
        retryable: true,
      };
      expect(byType(outcomeConditions(o, undefined))).toMatchObject({
        Ready: `False/${condition}`,
        Resolved: `False/${condition}`,
      });
      expect(o.failure.code).toBe(`ERR_RESOLVE_${reason.toUpperCase().replace('-', '_')}`);
    },
  );
});
