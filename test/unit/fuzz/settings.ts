/**
 * Shared settings of the property-based tests. The seed is fixed, so a run is repeatable and a
 * failure names the seed and the path of the counterexample (fast-check prints both); set
 * FUZZ_SEED to explore other inputs and FUZZ_RUNS for a longer run, e.g.
 * `FUZZ_SEED=$RANDOM FUZZ_RUNS=20000 npx vitest run test/unit/fuzz`.
 */
import fc from 'fast-check';

const seed = Number(process.env.FUZZ_SEED ?? 20261202);
const scale = Number(process.env.FUZZ_RUNS ?? 0);

/** fast-check parameters: the fixed seed, and `runs` runs unless FUZZ_RUNS says otherwise. */
export function fuzz(runs: number): fc.Parameters<unknown> {
  return { seed, numRuns: scale > 0 ? scale : runs, endOnFailure: false, verbose: 1 };
}

/**
 * Mutations of a valid input: flip, set, insert or delete bytes, truncate, or splice in a
 * run of bytes from elsewhere in it. Valid messages mutated reach deeper than random bytes.
 */
export function mutated(valid: fc.Arbitrary<Uint8Array>, special: number[] = []): fc.Arbitrary<Buffer> {
  const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0xc0, ...special));
  const edit = fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: byte }),
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: byte }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({
      op: fc.constant('splice' as const),
      at: fc.nat(),
      from: fc.nat(),
      length: fc.integer({ min: 1, max: 16 }),
    }),
  );
  return fc.tuple(valid, fc.array(edit, { minLength: 0, maxLength: 6 })).map(([input, edits]) => {
    let b = [...input];
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % (b.length + 1);
      if (e.op === 'set' && at < b.length) b[at] = e.value;
      else if (e.op === 'flip' && at < b.length) b[at] = (b[at] as number) ^ (1 << e.bit);
      else if (e.op === 'insert') b.splice(at, 0, e.value);
      else if (e.op === 'delete') b.splice(at, 1);
      else if (e.op === 'truncate') b = b.slice(0, at);
      else if (e.op === 'splice' && b.length > 0) {
        const from = e.from % b.length;
        b.splice(at, 0, ...b.slice(from, from + e.length));
      }
    }
    return Buffer.from(b);
  });
}
