import { addressTypeOf, normalizeAddresses, splitByType } from './addresses.ts';
import { publishedTtl } from './ttl.ts';
import { FAMILY_OF } from './types.ts';
import type {
  AddressRRset,
  AddressType,
  AliasPolicy,
  DesiredAction,
  DesiredState,
  FamilyResolution,
  ResolutionProblem,
} from './types.ts';

const TYPES: readonly AddressType[] = ['A', 'AAAA'];

/**
 * The records an ApexAlias should produce, from its policy, this round's lookups and the
 * records written last (behaviour rules 1, 3, 5 and 6). Each address type is decided on its own, so a
 * failing AAAA lookup never holds back or wipes A. Pure: the diff against the zone, and with it
 * every ownership check, happens in `diff`.
 *
 * @param resolution the lookup outcome per address type; a type without one is left alone.
 * @param lastKnownGood the RRsets written last per type, restored over hand edits while the
 *   lookup fails.
 */
export function desired(
  policy: AliasPolicy,
  resolution: Partial<Record<AddressType, FamilyResolution>>,
  lastKnownGood: Partial<Record<AddressType, AddressRRset>>,
): DesiredState {
  const fallback = splitByType(policy.fallbackAddresses);
  const problems: ResolutionProblem[] = [];
  const actions = {} as Record<AddressType, DesiredAction>;

  for (const type of TYPES) {
    if (!policy.families.includes(FAMILY_OF[type])) {
      // Removal is only ever of records we own: `diff` enforces that.
      actions[type] = { action: 'remove', reason: 'FamilyNotRequested' };
      continue;
    }
    const outcome = sanitize(type, resolution[type]);
    if (outcome === undefined) {
      actions[type] = { action: 'keep' };
      continue;
    }
    const target = outcome.chain[0] ?? 'the target';
    switch (outcome.kind) {
      case 'addresses':
        actions[type] = {
          action: 'write',
          rrset: { ttl: publishedTtl(outcome.ttl, policy.ttl), addresses: outcome.addresses },
          source: 'resolved',
        };
        break;
      case 'failed': {
        const kept = keepLastKnownGood(type, lastKnownGood[type]);
        actions[type] = kept.action;
        problems.push({ type, reason: outcome.reason, message: `${type}: ${outcome.message}; ${kept.says}` });
        break;
      }
      case 'missing': {
        const what =
          outcome.reason === 'nxdomain'
            ? `${target} does not exist (NXDOMAIN)`
            : `${target} has no ${type} records (NODATA)`;
        let says: string;
        if (policy.onTargetMissing === 'Remove') {
          actions[type] = { action: 'remove', reason: 'TargetMissing' };
          says = `removing ${type} (onTargetMissing: Remove)`;
        } else if (policy.onTargetMissing === 'Fallback' && fallback[type].length > 0) {
          actions[type] = {
            action: 'write',
            rrset: { ttl: publishedTtl(outcome.ttl, policy.ttl), addresses: fallback[type] },
            source: 'fallback',
          };
          says = `writing the ${FAMILY_OF[type]} fallback addresses (onTargetMissing: Fallback)`;
        } else if (policy.onTargetMissing === 'Fallback') {
          // No sibling of this family was given: serving the missing target's last addresses
          // would contradict the user's choice not to keep them, so the family goes.
          actions[type] = { action: 'remove', reason: 'TargetMissing' };
          says = `removing ${type}: no ${FAMILY_OF[type]} fallback addresses (onTargetMissing: Fallback)`;
        } else {
          const kept = keepLastKnownGood(type, lastKnownGood[type]);
          actions[type] = kept.action;
          says = `${kept.says} (onTargetMissing: Keep)`;
        }
        problems.push({ type, reason: outcome.reason, message: `${type}: ${what}; ${says}` });
        break;
      }
    }
  }

  const written = TYPES.flatMap((type) => {
    const action = actions[type];
    return action.action === 'write' ? [action.rrset.ttl] : [];
  });
  const chain = TYPES.map((type) => resolution[type]?.chain ?? []).find((c) => c.length > 0) ?? [];
  const state: DesiredState = {
    A: actions.A,
    AAAA: actions.AAAA,
    problems,
    chain,
    ttlBounds: { ...policy.ttl },
  };
  if (written.length > 0) state.ttl = Math.min(...written);
  return state;
}

/** Behaviour rule 5: a family whose lookup failed stays as written last, repaired if edited by hand. */
function keepLastKnownGood(
  type: AddressType,
  known: AddressRRset | undefined,
): { action: DesiredAction; says: string } {
  const addresses =
    known === undefined ? [] : normalizeAddresses(known.addresses).filter((a) => addressTypeOf(a) === type);
  if (known === undefined || addresses.length === 0) {
    return { action: { action: 'keep' }, says: `keeping the current ${type} records` };
  }
  return {
    action: { action: 'write', rrset: { ttl: known.ttl, addresses }, source: 'lastKnownGood' },
    says: `keeping the last written ${type} records`,
  };
}

/**
 * Guards the planner against a resolver outcome that breaks the vocabulary's promises
 * (behaviour rule 16): addresses are canonicalised and sorted, addresses of the other family dropped,
 * and an address outcome with nothing usable left counts as a malformed answer, never as an
 * instruction to empty the RRset.
 */
function sanitize(type: AddressType, outcome: FamilyResolution | undefined): FamilyResolution | undefined {
  if (outcome?.kind !== 'addresses') return outcome;
  const addresses = normalizeAddresses(outcome.addresses).filter((a) => addressTypeOf(a) === type);
  if (addresses.length === 0) {
    return {
      kind: 'failed',
      reason: 'malformed',
      message: `the lookup returned no usable ${type} addresses`,
      chain: outcome.chain,
    };
  }
  return { ...outcome, addresses };
}
