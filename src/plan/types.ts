/**
 * The vocabulary shared by the resolver, the planner and the backends. Pure data, no I/O.
 * Names are absolute, lower-case and written without the trailing dot ("www.example.com").
 */

export type Family = 'IPv4' | 'IPv6';
export type AddressType = 'A' | 'AAAA';
export const ADDRESS_TYPE: Record<Family, AddressType> = { IPv4: 'A', IPv6: 'AAAA' };
export const FAMILY_OF: Record<AddressType, Family> = { A: 'IPv4', AAAA: 'IPv6' };

/**
 * Why a lookup failed in a way that must never change the zone (behaviour rule 5).
 * `dnssec-unvalidated`: with `resolver.dnssec: require`, an answer along the chain lacked the
 * AD bit of a trusted validator; `dnssec-bogus`: the validator found the data bogus.
 */
export type ResolveFailureReason =
  | 'servfail'
  | 'refused'
  | 'timeout'
  | 'malformed'
  | 'loop'
  | 'chain-too-long'
  | 'rcode'
  | 'dnssec-unvalidated'
  | 'dnssec-bogus';

/** The outcome of resolving one address family of one target. */
export type FamilyResolution =
  | {
      kind: 'addresses';
      /** Sorted, canonical textual addresses. */
      addresses: string[];
      /** Lowest TTL seen along the chain, including the final address RRset. */
      ttl: number;
      /** The target first, then every CNAME target followed. */
      chain: string[];
      /**
       * With `resolver.dnssec` other than `off`: every answer along the chain carried the AD
       * bit of a validator on a trusted path. Absent with `off`.
       */
      validated?: boolean;
    }
  | {
      kind: 'missing';
      reason: 'nxdomain' | 'nodata';
      /** Negative-caching TTL (SOA minimum) when known, else the lowest chain TTL. */
      ttl: number;
      chain: string[];
      /** As for `addresses`: the denial itself was validated. */
      validated?: boolean;
    }
  | {
      kind: 'failed';
      reason: ResolveFailureReason;
      message: string;
      chain: string[];
    };

/** One address RRset as it should be, or as it is, in the zone. */
export interface AddressRRset {
  ttl: number;
  /** Sorted, canonical textual addresses. */
  addresses: string[];
}

/** What the backend holds at one owner name (and at its ownership marker name). */
export interface CurrentRecords {
  name: string;
  A?: AddressRRset;
  AAAA?: AddressRRset;
  /** The CNAME target when the name holds a CNAME. */
  cname?: string;
  /** Every TXT string at `_apexalias.<name>`, each RR's character-strings joined. */
  marker?: string[];
  /**
   * Why the name is not apexalias's to manage, whatever its marker: it is the target of the
   * zone's NS or MX records (its address is the zone's glue or mail route), or a delegation point.
   * Set by backends that can tell.
   */
  protected?: string;
}

/** Who is asking to own a name. */
export interface Ownership {
  /** The controller's owner id from its configuration. */
  ownerId: string;
  /** `<namespace>/<name>` of the ApexAlias. */
  resource: string;
  /** Take over existing A/AAAA records that carry no ownership marker. */
  adopt: boolean;
  /**
   * Other ApexAliases of this controller (`<namespace>/<name>`) whose marker this alias may
   * replace: the newer claimants of the same name, which lose to it (behaviour rule 10: the older keeps it).
   */
  supersedes?: string[];
}

/**
 * The one change to one owner name that a backend must apply atomically and only when
 * `expect` still holds (RFC 2136 prerequisites, or the provider's equivalent).
 */
export interface NameChange {
  name: string;
  markerName: string;
  markerValue: string;
  expect: {
    /** `absent`: no TXT at the marker name; otherwise the marker must equal this exact value. */
    marker: 'absent' | { value: string };
    /** No CNAME may exist at the name (always true: behaviour rule 9). */
    noCname: true;
    /** Address types that must not exist yet (first claim without adopt). */
    absent: AddressType[];
  };
  /** Per type: an RRset replaces what is there; `null` deletes the RRset; missing leaves it alone. */
  set: Partial<Record<AddressType, AddressRRset | null>>;
  /** What happens to the marker TXT; `replace` swaps another alias's marker for ours. */
  marker: 'create' | 'keep' | 'delete' | 'replace';
}

// ---------------------------------------------------------------------------------------------
// The planner's own vocabulary (src/plan): its input policy, the desired state and the diff.
// ---------------------------------------------------------------------------------------------

/** The part of a defaulted ApexAlias spec that the planner needs. */
export interface AliasPolicy {
  /** The requested address families (`spec.addressFamilies`). */
  families: Family[];
  /** `spec.ttl`; `min` absent means "never longer than the target's own TTL". */
  ttl: TtlBounds;
  onTargetMissing: 'Keep' | 'Remove' | 'Fallback';
  /** Already validated IPs, both families mixed. */
  fallbackAddresses: string[];
  adopt: boolean;
}

/** `[min, max]` for the published TTL, in seconds. */
export interface TtlBounds {
  min?: number;
  max: number;
}

/** Why a family is to be removed from the zone. */
export type RemoveReason = 'FamilyNotRequested' | 'TargetMissing';

/** What the planner wants for one address type at the owner name. */
export type DesiredAction =
  | {
      action: 'write';
      rrset: AddressRRset;
      /** `lastKnownGood`: the lookup failed and the records written last are restored over hand edits. */
      source: 'resolved' | 'lastKnownGood' | 'fallback';
    }
  | { action: 'remove'; reason: RemoveReason }
  /** Leave whatever the zone holds (a failed lookup with nothing known to restore, or no lookup). */
  | { action: 'keep' };

/** A family whose lookup did not yield addresses: for conditions, Events and metrics. */
export interface ResolutionProblem {
  type: AddressType;
  reason: ResolveFailureReason | 'nxdomain' | 'nodata';
  message: string;
}

/** The records one ApexAlias should produce, before looking at the zone. */
export interface DesiredState {
  A: DesiredAction;
  AAAA: DesiredAction;
  problems: ResolutionProblem[];
  /** The published TTL for status: the lowest TTL of the families to be written. */
  ttl?: number;
  /** The CNAME chain for status: the target first. Empty when no lookup reported one. */
  chain: string[];
  /** The policy's TTL bounds; the diff only lets the ±20% band stand for a TTL inside them. */
  ttlBounds: TtlBounds;
}

/**
 * How the ownership marker at `_apexalias.<name>` relates to the asking ApexAlias. `retained`:
 * this alias's marker as `deletionPolicy: Retain` left it when an alias of the same key was
 * deleted; the alias takes the name back.
 */
export type OwnershipStatus = 'unclaimed' | 'ours' | 'retained' | 'conflict' | 'foreign';

/** Why the planner refuses to touch a name. */
export type BlockedReason = 'CnameAtName' | 'ProtectedName' | 'NotOwned' | 'OwnedByOther' | 'Conflict';

/**
 * What one decision of a change does:
 * - `created`, `addresses`, `ttl`, `removed`: an address RRset is written anew, gets other
 *   addresses (the target moved, or a repair), only another TTL, or is deleted;
 * - `marker-created`, `marker-taken-over`, `marker-deleted`, `marker-retained`: the ownership marker.
 */
export type ChangeKind =
  | 'created'
  | 'addresses'
  | 'ttl'
  | 'removed'
  | 'marker-created'
  | 'marker-taken-over'
  | 'marker-deleted'
  | 'marker-retained';

/** One decision of a change, for logs, Events, status and metrics. */
export interface ChangeReason {
  subject: AddressType | 'marker';
  kind: ChangeKind;
  /** People-readable: "A: addresses changed 192.0.2.1 → 192.0.2.2". */
  text: string;
}

/** The planner's verdict for one owner name. */
export type DiffResult =
  | {
      kind: 'noop';
      /** Why nothing is done, when that is worth telling (deletion of a name we do not own). */
      reason?: string;
    }
  | {
      kind: 'change';
      change: NameChange;
      /** One per decision, in order: what it is about, what kind, and in words. */
      reasons: ChangeReason[];
    }
  | { kind: 'blocked'; reason: BlockedReason; message: string };
