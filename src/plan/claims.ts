/**
 * Behaviour rule 10, the one place it is decided: when several aliases claim one owner name, the
 * one with the oldest `creationTimestamp` keeps it; a missing timestamp counts as the oldest, and
 * on a tie the key (`namespace/name`) that sorts first wins. The others are losers: they are
 * blocked with `Conflict`, and the winner may replace a marker that one of them holds. Pure.
 */

/** One alias's claim on an owner name. */
export interface Claim {
  /** `namespace/name` of the alias. */
  key: string;
  /** The absolute owner name claimed. */
  name: string;
  /** RFC 3339 `metadata.creationTimestamp`; compared as text. */
  createdAt?: string;
}

/** The outcome of behaviour rule 10 for one alias. */
export interface ClaimVerdict {
  name: string;
  /** The key that keeps the name; the alias itself when it wins. */
  winner: string;
  /** Every other claimant, oldest first. Only the winner's list matters: it may take over their markers. */
  losers: string[];
}

/** Orders claims oldest first (behaviour rule 10). */
export function compareClaims(a: Claim, b: Claim): number {
  const byAge = (a.createdAt ?? '').localeCompare(b.createdAt ?? '');
  if (byAge !== 0) return byAge;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The claims of many aliases, indexed by owner name, so that deciding one alias costs as much as
 * the number of claimants of its own name, not the number of aliases. Kept up to date one key at
 * a time as aliases appear, change and go.
 */
export class ClaimIndex {
  readonly #byKey = new Map<string, Claim>();
  readonly #byName = new Map<string, Claim[]>();

  /** An index of `claims` (a later claim of the same key replaces an earlier one). */
  static of(claims: Iterable<Claim>): ClaimIndex {
    const index = new ClaimIndex();
    for (const c of claims) index.set(c.key, c);
    return index;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Records the claim of `key`, or removes it (`undefined`). Returns the owner names whose set of
   * claimants changed, so that their other claimants can be looked at again.
   */
  set(key: string, claim: Claim | undefined): string[] {
    const before = this.#byKey.get(key);
    if (claim && before && before.name === claim.name && before.createdAt === claim.createdAt) return [];
    if (before) this.#remove(before);
    if (claim) {
      const c: Claim = { key, name: claim.name, createdAt: claim.createdAt };
      this.#byKey.set(key, c);
      const list = this.#byName.get(c.name) ?? [];
      list.push(c);
      list.sort(compareClaims);
      this.#byName.set(c.name, list);
    }
    const changed = new Set<string>();
    if (before) changed.add(before.name);
    if (claim) changed.add(claim.name);
    return [...changed];
  }

  /** The keys claiming `name`, oldest first. */
  claimants(name: string): string[] {
    return (this.#byName.get(name) ?? []).map((c) => c.key);
  }

  /** Behaviour rule 10 for `key`; undefined when it claims nothing. */
  verdict(key: string): ClaimVerdict | undefined {
    const own = this.#byKey.get(key);
    if (!own) return undefined;
    const keys = this.claimants(own.name);
    return { name: own.name, winner: keys[0]!, losers: keys.slice(1) };
  }

  #remove(claim: Claim): void {
    this.#byKey.delete(claim.key);
    const list = this.#byName.get(claim.name)?.filter((c) => c.key !== claim.key) ?? [];
    if (list.length) this.#byName.set(claim.name, list);
    else this.#byName.delete(claim.name);
  }
}
