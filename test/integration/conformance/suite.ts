import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendCapabilities, DnsBackend } from '../../../src/backends/types.ts';
import type { NameChange } from '../../../src/plan/types.ts';
import { markerName, markerValue } from '../../../src/plan/ownership.ts';
import { claimChange, rrset, updateChange } from '../../harness/changes.ts';

/** What each backend's test file provides to the shared suite: a real server behind it. */
export interface ConformanceFixture {
  backend: DnsBackend;
  /** The zone the backend serves, e.g. `example.test`. */
  zone: string;
  /** Adds records behind the backend's back, in zone-file form with absolute names. */
  handAdd(lines: string[]): Promise<void>;
  /** What the zone serves (or holds) at a name: RDATA in presentation form, sorted. */
  lookup(name: string, type: 'A' | 'AAAA' | 'TXT' | 'CNAME' | 'SOA' | 'NS' | 'MX'): Promise<string[]>;
  /**
   * Write operations the server has received so far, when the server can count them (PowerDNS's
   * API: the PATCHes it applied, as counted by its SOA serial under SOA-EDIT-API INCREASE).
   */
  writeCount?(): Promise<number>;
  stop(): Promise<void>;
}

/** A promise a backend may not make; the shared cases that need it are replaced, not skipped. */
export type Capability = keyof Pick<BackendCapabilities, 'atomicBatch' | 'conditional'>;

/** Why a backend lacks a capability: said in the test's name, and checked against the docs. */
export interface MissingCapability {
  reason: string;
  /** Where the docs explain it: `docs/backends.md#<heading>`; the heading must exist. */
  docs: string;
}

/** What a backend's test file declares to the shared suite besides its fixture. */
export interface ConformanceOptions {
  /** Each capability the backend does not have. Every other one must be there and is tested. */
  lacks?: Partial<Record<Capability, MissingCapability>>;
}

const OWNER = 'conformance';

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of every heading of a Markdown file, numbered like GitHub does for repeats. */
async function anchorsOf(file: string): Promise<Set<string>> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = headingAnchor(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** A first claim of `name` for A (and AAAA when given), with the marker created. */
export function claim(
  name: string,
  a: string[],
  aaaa?: string[],
  resource = `ns/${name.split('.')[0]}`,
): NameChange {
  const set: NameChange['set'] = { A: rrset(60, ...a) };
  if (aaaa) set.AAAA = rrset(60, ...aaaa);
  return claimChange(name, set, markerValue(OWNER, resource));
}

/** A later change of an owned name: the marker must still be exactly ours. */
export function update(name: string, a: string[] | null, resource = `ns/${name.split('.')[0]}`): NameChange {
  return updateChange(name, { A: a ? rrset(60, ...a) : null }, markerValue(OWNER, resource));
}

/**
 * The one behaviour every `DnsBackend` must show against a real server (hono-style: one suite,
 * many implementations). Every case uses names of its own, so the cases share one server.
 */
export function describeBackendConformance(
  label: string,
  start: () => Promise<ConformanceFixture>,
  options: ConformanceOptions = {},
): void {
  describe(`DnsBackend conformance: ${label}`, () => {
    let f: ConformanceFixture;
    const n = (label: string): string => `${label}.${f.zone}`;
    /**
     * A case that only a backend with `capability` can pass. For a backend that declares it
     * lacks the capability, a case of its own takes the place: it asserts that the backend
     * really says so in `capabilities()`, and that the reason given is documented.
     */
    const needs = (capability: Capability, title: string, body: () => Promise<void>): void => {
      const missing = options.lacks?.[capability];
      if (!missing) {
        it(title, async () => {
          expect(f.backend.capabilities()[capability]).toBe(true);
          await body();
        });
        return;
      }
      it(`capability ${capability}=false: ${missing.reason} (${missing.docs})`, async () => {
        expect(f.backend.capabilities()[capability]).toBe(false);
        const [file, anchor] = missing.docs.split('#') as [string, string | undefined];
        expect(anchor, `${missing.docs} must name a heading`).toBeTruthy();
        expect([...(await anchorsOf(file))]).toContain(anchor);
      });
    };
    beforeAll(async () => {
      f = await start();
    });
    afterAll(async () => {
      await f?.stop();
    });

    it('reads a name that does not exist as empty', async () => {
      const current = await f.backend.read(f.zone, [n('nothing')]);
      expect(current.get(n('nothing'))).toEqual({ name: n('nothing') });
    });

    it('first claim writes A, AAAA and the marker, and reads them back', async () => {
      const result = await f.backend.apply(f.zone, [
        claim(n('first'), ['192.0.2.1', '192.0.2.2'], ['2001:db8::1']),
      ]);
      expect(result.chunks.map((c) => c.error)).toEqual([undefined]);
      expect(await f.lookup(n('first'), 'A')).toEqual(['192.0.2.1', '192.0.2.2']);
      expect(await f.lookup(n('first'), 'AAAA')).toEqual(['2001:db8::1']);
      const current = (await f.backend.read(f.zone, [n('first')])).get(n('first'));
      expect(current).toEqual({
        name: n('first'),
        A: { ttl: 60, addresses: ['192.0.2.1', '192.0.2.2'] },
        AAAA: { ttl: 60, addresses: ['2001:db8::1'] },
        marker: [markerValue(OWNER, 'ns/first')],
      });
    });

    it('an owned name is replaced, not merged, and the TTL follows', async () => {
      await f.backend.apply(f.zone, [claim(n('replace'), ['192.0.2.1'])]);
      const change = update(n('replace'), ['198.51.100.9']);
      change.set.A = { ttl: 120, addresses: ['198.51.100.9'] };
      const result = await f.backend.apply(f.zone, [change]);
      expect(result.chunks[0]!.error).toBeUndefined();
      const current = (await f.backend.read(f.zone, [n('replace')])).get(n('replace'));
      expect(current?.A).toEqual({ ttl: 120, addresses: ['198.51.100.9'] });
    });

    it('refuses a first claim when a marker appeared meanwhile, and writes nothing', async () => {
      await f.handAdd([`_apexalias.${n('raced')}. 300 IN TXT "heritage=apexalias,owner=other,resource=x/y"`]);
      const result = await f.backend.apply(f.zone, [claim(n('raced'), ['192.0.2.7'])]);
      expect(result.chunks[0]!.error?.kind).toBe('PRECONDITION');
      expect(await f.lookup(n('raced'), 'A')).toEqual([]);
    });

    it('the ownership prerequisite refuses to overwrite foreign A records', async () => {
      await f.handAdd([`${n('foreign')}. 300 IN A 203.0.113.5`]);
      const result = await f.backend.apply(f.zone, [claim(n('foreign'), ['192.0.2.8'])]);
      expect(result.chunks[0]!.error?.kind).toBe('PRECONDITION');
      expect(await f.lookup(n('foreign'), 'A')).toEqual(['203.0.113.5']);
      expect(await f.lookup(n('foreign'), 'TXT')).toEqual([]);
    });

    it('refuses to update when the marker is no longer ours', async () => {
      await f.handAdd([
        `_apexalias.${n('stolen')}. 300 IN TXT "heritage=apexalias,owner=other,resource=ns/stolen"`,
      ]);
      const result = await f.backend.apply(f.zone, [update(n('stolen'), ['192.0.2.9'])]);
      expect(result.chunks[0]!.error?.kind).toBe('PRECONDITION');
      expect(await f.lookup(n('stolen'), 'A')).toEqual([]);
    });

    it('a CNAME at the name is refused, and no CNAME is ever written', async () => {
      await f.handAdd([`${n('cname')}. 300 IN CNAME elsewhere.example.net.`]);
      const before = await f.backend.read(f.zone, [n('cname')]);
      expect(before.get(n('cname'))?.cname).toBe('elsewhere.example.net');
      const result = await f.backend.apply(f.zone, [claim(n('cname'), ['192.0.2.10'])]);
      expect(result.chunks[0]!.error?.kind).toBe('PRECONDITION');
      expect(await f.lookup(n('cname'), 'CNAME')).toEqual(['elsewhere.example.net.']);
    });

    needs(
      'atomicBatch',
      'a batch is atomic: one failed prerequisite leaves every name of the batch untouched',
      async () => {
        await f.handAdd([`${n('atomic-bad')}. 300 IN A 203.0.113.6`]);
        const result = await f.backend.apply(f.zone, [
          claim(n('atomic-good'), ['192.0.2.11']),
          claim(n('atomic-bad'), ['192.0.2.12']),
        ]);
        expect(result.chunks).toHaveLength(1);
        expect(result.chunks[0]!.error?.kind).toBe('PRECONDITION');
        expect(await f.lookup(n('atomic-good'), 'A')).toEqual([]);
        expect(await f.lookup(n('atomic-bad'), 'A')).toEqual(['203.0.113.6']);
      },
    );

    it('deleting removes only the owned A, AAAA and marker', async () => {
      await f.backend.apply(f.zone, [claim(n('gone'), ['192.0.2.13'], ['2001:db8::13'])]);
      await f.handAdd([`${n('gone')}. 300 IN MX 10 mail.example.net.`]);
      const value = markerValue(OWNER, 'ns/gone');
      const result = await f.backend.apply(f.zone, [
        {
          name: n('gone'),
          markerName: markerName(n('gone')),
          markerValue: value,
          expect: { marker: { value }, noCname: true, absent: [] },
          set: { A: null, AAAA: null },
          marker: 'delete',
        },
      ]);
      expect(result.chunks[0]!.error).toBeUndefined();
      expect(await f.lookup(n('gone'), 'A')).toEqual([]);
      expect(await f.lookup(n('gone'), 'AAAA')).toEqual([]);
      expect(await f.lookup(n('gone'), 'TXT')).toEqual([]);
      expect(await f.lookup(n('gone'), 'MX')).toEqual(['10 mail.example.net.']);
    });

    it('writing at the apex leaves SOA, NS and MX alone', async () => {
      const soaBefore = await f.lookup(f.zone, 'SOA');
      const nsBefore = await f.lookup(f.zone, 'NS');
      const mxBefore = await f.lookup(f.zone, 'MX');
      const result = await f.backend.apply(f.zone, [
        claim(f.zone, ['192.0.2.20'], ['2001:db8::20'], 'ns/apex'),
      ]);
      expect(result.chunks[0]!.error).toBeUndefined();
      expect(await f.lookup(f.zone, 'A')).toEqual(['192.0.2.20']);
      expect(await f.lookup(f.zone, 'NS')).toEqual(nsBefore);
      expect(await f.lookup(f.zone, 'MX')).toEqual(mxBefore);
      // The serial may move; the rest of the SOA may not.
      const strip = (soa: string[]): string[] =>
        soa.map((s) =>
          s
            .split(' ')
            .filter((_, i) => i !== 2)
            .join(' '),
        );
      expect(strip(await f.lookup(f.zone, 'SOA'))).toEqual(strip(soaBefore));
    });

    needs(
      'conditional',
      'two concurrent first claims of one name: exactly one lands, the other is refused',
      async () => {
        const name = n('race');
        const results = await Promise.all(
          (['a', 'b'] as const).map((who) =>
            f.backend.apply(f.zone, [
              claim(name, [who === 'a' ? '192.0.2.31' : '192.0.2.32'], undefined, `ns/race-${who}`),
            ]),
          ),
        );
        const kinds = results.map((r) => r.chunks[0]!.error?.kind ?? 'landed');
        expect([...kinds].sort()).toEqual(['PRECONDITION', 'landed']);
        const winner = kinds[0] === 'landed' ? 'a' : 'b';
        const current = (await f.backend.read(f.zone, [name])).get(name);
        expect(current?.marker).toEqual([markerValue(OWNER, `ns/race-${winner}`)]);
        expect(await f.lookup(name, 'A')).toEqual([winner === 'a' ? '192.0.2.31' : '192.0.2.32']);
      },
    );

    // The batch is as large as the backend promises one atomic write can carry (Route 53's
    // quotas allow about 200 owned-name updates per change batch), and never more than 500.
    needs(
      'atomicBatch',
      '500 owned names (or maxBatchNames, when lower) change in one atomic write',
      async () => {
        const count = Math.min(500, f.backend.capabilities().maxBatchNames);
        const names = Array.from({ length: count }, (_, i) => n(`b${i}`));
        const claims = await f.backend.apply(
          f.zone,
          names.map((name) => claim(name, ['192.0.2.1'])),
        );
        expect(claims.chunks.every((c) => !c.error)).toBe(true);
        const before = await f.writeCount?.();
        const result = await f.backend.apply(
          f.zone,
          names.map((name, i) => update(name, [`10.0.${i >> 8}.${i & 255}`])),
        );
        expect(result.chunks).toHaveLength(1);
        expect(result.chunks[0]!.names).toHaveLength(count);
        expect(result.chunks[0]!.error).toBeUndefined();
        if (before !== undefined) expect((await f.writeCount!()) - before).toBe(1);
        const current = await f.backend.read(f.zone, names);
        names.forEach((name, i) =>
          expect(current.get(name)?.A?.addresses).toEqual([`10.0.${i >> 8}.${i & 255}`]),
        );
      },
    );
  });
}
