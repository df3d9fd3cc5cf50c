import type {
  AddressRRset,
  AliasPolicy,
  DesiredAction,
  DesiredState,
  DiffResult,
  FamilyResolution,
  NameChange,
  Ownership,
  TtlBounds,
} from '../../../src/plan/types.ts';
import { claimChange, updateChange } from '../../harness/changes.ts';

/** The owner name every planner test works on, and the alias that asks for it. */
export const NAME = 'example.com';
export const MARKER_NAME = '_apexalias.example.com';
export const OWNER_ID = 'apexalias-prod';
export const RESOURCE = 'web/apex';
export const OURS = 'heritage=apexalias,owner=apexalias-prod,resource=web/apex';
export const SIBLING = 'heritage=apexalias,owner=apexalias-prod,resource=web/other';
export const OTHER_OWNER = 'heritage=apexalias,owner=apexalias-staging,resource=web/apex';
export const TARGET = 'lb.example.net';

export function ownership(adopt = false): Ownership {
  return { ownerId: OWNER_ID, resource: RESOURCE, adopt };
}

export function policy(overrides: Partial<AliasPolicy> = {}): AliasPolicy {
  return {
    families: ['IPv4', 'IPv6'],
    ttl: { max: 3600 },
    onTargetMissing: 'Keep',
    fallbackAddresses: [],
    adopt: false,
    ...overrides,
  };
}

export function resolved(addresses: string[], ttl = 60, chain = [TARGET]): FamilyResolution {
  return { kind: 'addresses', addresses, ttl, chain };
}

export function failed(
  reason: Extract<FamilyResolution, { kind: 'failed' }>['reason'] = 'servfail',
  message = 'SERVFAIL from 192.0.2.53',
  chain = [TARGET],
): FamilyResolution {
  return { kind: 'failed', reason, message, chain };
}

export function missing(reason: 'nxdomain' | 'nodata', ttl = 300, chain = [TARGET]): FamilyResolution {
  return { kind: 'missing', reason, ttl, chain };
}

export function rrset(addresses: string[], ttl = 60): AddressRRset {
  return { ttl, addresses };
}

export const keep: DesiredAction = { action: 'keep' };

export function write(
  addresses: string[],
  ttl = 60,
  source: 'resolved' | 'lastKnownGood' | 'fallback' = 'resolved',
): DesiredAction {
  return { action: 'write', rrset: { ttl, addresses }, source };
}

export function remove(reason: 'FamilyNotRequested' | 'TargetMissing' = 'FamilyNotRequested'): DesiredAction {
  return { action: 'remove', reason };
}

/** A desired state as `desired()` would return it, for diff tests that start from the wish. */
export function want(
  A: DesiredAction,
  AAAA: DesiredAction,
  ttlBounds: TtlBounds = { max: 3600 },
): DesiredState {
  return { A, AAAA, problems: [], chain: [TARGET], ttlBounds };
}

/** The change an owner makes to a name it already holds. */
export const ours = (set: NameChange['set']): NameChange => updateChange(NAME, set, OURS);

/** The change that claims a name without a marker. */
export const claim = (set: NameChange['set'], absent: NameChange['expect']['absent']): NameChange =>
  claimChange(NAME, set, OURS, absent);

/** A verdict as a test writes it: the reasons of a change in words only. */
export type VerdictInWords =
  Exclude<DiffResult, { kind: 'change' }> | { kind: 'change'; change: NameChange; reasons: string[] };

/** The verdict with each reason reduced to its text, to compare with a {@link VerdictInWords}. */
export function inWords(result: DiffResult): VerdictInWords {
  return result.kind === 'change' ? { ...result, reasons: result.reasons.map((r) => r.text) } : result;
}
