import { normalizeAddresses, sameAddresses } from './addresses.ts';
import { classifyOwnership, describeMarker, markerName, markerValue, parseMarker } from './ownership.ts';
import { withinBand, withinBounds } from './ttl.ts';
import { changeOf } from './change.ts';
import type {
  AddressRRset,
  AddressType,
  ChangeReason,
  CurrentRecords,
  DesiredState,
  DiffResult,
  NameChange,
  Ownership,
  TtlBounds,
} from './types.ts';

const TYPES: readonly AddressType[] = ['A', 'AAAA'];

/** An RRset that exists: an empty address list is the same as no RRset. */
export function present(rrset: AddressRRset | undefined): rrset is AddressRRset {
  return rrset !== undefined && rrset.addresses.length > 0;
}

/**
 * The one change that takes owner name `name` from `current` to `want`, or why there is none
 * (behaviour rules 4, 7, 8 and 9). The only place where writes are decided: a backend executes the
 * returned `NameChange` as one atomic write guarded by its `expect`, and nothing else.
 *
 * - A CNAME at the name blocks everything: nothing is written next to it, and no CNAME is
 *   ever written.
 * - A marker held by someone else blocks (`OwnedByOther`); one held by another ApexAlias of
 *   this controller blocks (`Conflict`).
 * - A name without a marker that already carries A or AAAA is only taken with `adopt`; the
 *   first claim creates the marker and expects every address type it did not adopt to be
 *   absent, so a concurrent writer cannot slip records in underneath.
 * - Unchanged addresses with a TTL within ±20% of the current one (and inside the policy's
 *   bounds) are not rewritten.
 */
export function diff(
  name: string,
  want: DesiredState,
  current: CurrentRecords,
  ownership: Ownership,
): DiffResult {
  const marker = markerName(name);
  if (current.cname !== undefined) {
    return {
      kind: 'blocked',
      reason: 'CnameAtName',
      message:
        `${name} holds a CNAME to ${current.cname}; apexalias never writes A/AAAA next to a CNAME ` +
        `and never writes a CNAME. Remove the CNAME to let the alias take the name.`,
    };
  }
  if (current.protected !== undefined) {
    return {
      kind: 'blocked',
      reason: 'ProtectedName',
      message:
        `${name} is ${current.protected}; apexalias never manages such a name, even with adopt, ` +
        'because replacing its addresses would break the zone. Point the alias at another name.',
    };
  }
  const status = classifyOwnership(current.marker, ownership);
  if (status === 'foreign') {
    return {
      kind: 'blocked',
      reason: 'OwnedByOther',
      message: `${marker} holds ${describeMarker(current.marker)}; apexalias only writes names it owns.`,
    };
  }
  const holder = parseMarker(current.marker?.[0] ?? '')?.resource ?? 'another ApexAlias';
  // A loser's marker is taken over (behaviour rule 10); our own retained one is taken back (rule 11).
  const takeover =
    status === 'retained' || (status === 'conflict' && (ownership.supersedes ?? []).includes(holder));
  if (status === 'conflict' && !takeover) {
    return {
      kind: 'blocked',
      reason: 'Conflict',
      message: `${name} is already managed by ApexAlias ${holder} of this controller.`,
    };
  }
  const existing = TYPES.filter((type) => present(current[type]));
  if (status === 'unclaimed' && existing.length > 0 && !ownership.adopt) {
    return {
      kind: 'blocked',
      reason: 'NotOwned',
      message:
        `${name} already has ${existing.join(' and ')} records without an apexalias ownership marker ` +
        `at ${marker}; set spec.adopt: true to take them over.`,
    };
  }

  const set: NameChange['set'] = {};
  const reasons: ChangeReason[] = [];
  for (const type of TYPES) planType(type, want, current[type], set, reasons);

  const value = markerValue(ownership.ownerId, ownership.resource);
  if (takeover) {
    reasons.unshift({
      subject: 'marker',
      kind: 'marker-taken-over',
      text:
        status === 'retained' ? 'marker: taken back (it was retained)' : `marker: taken over from ${holder}`,
    });
    return changeOf(
      name,
      value,
      { marker: 'replace', expectMarker: { value: current.marker![0]! } },
      set,
      reasons,
    );
  }
  if (status === 'ours') {
    if (Object.keys(set).length === 0) return { kind: 'noop' };
    return changeOf(name, value, { marker: 'keep', expectMarker: { value } }, set, reasons);
  }

  // Unclaimed. Adopting records that already match is still a claim worth writing: it makes
  // them ours for repair and deletion. A bare marker with nothing to manage is not.
  const adopted = existing.filter((type) => want[type].action === 'write');
  if (Object.keys(set).length === 0 && adopted.length === 0) return { kind: 'noop' };
  reasons.unshift({
    subject: 'marker',
    kind: 'marker-created',
    text: existing.length > 0 ? `marker: created, adopting ${existing.join(', ')}` : 'marker: created',
  });
  const absent = TYPES.filter((type) => !existing.includes(type));
  return changeOf(name, value, { marker: 'create', expectMarker: 'absent', absent }, set, reasons);
}

function planType(
  type: AddressType,
  want: DesiredState,
  have: AddressRRset | undefined,
  set: NameChange['set'],
  reasons: ChangeReason[],
): void {
  const action = want[type];
  if (action.action === 'keep') return;
  if (action.action === 'remove') {
    if (present(have)) {
      set[type] = null;
      reasons.push({ subject: type, kind: 'removed', text: `${type}: removed (${action.reason})` });
    }
    return;
  }
  const rrset: AddressRRset = {
    ttl: action.rrset.ttl,
    addresses: normalizeAddresses(action.rrset.addresses),
  };
  const from =
    action.source === 'resolved' ? '' : action.source === 'fallback' ? ' (fallback)' : ' (last known good)';
  if (!present(have)) {
    set[type] = rrset;
    reasons.push({
      subject: type,
      kind: 'created',
      text: `${type}: created ${rrset.addresses.join(', ')} ttl ${rrset.ttl}${from}`,
    });
    return;
  }
  const addressesChanged = !sameAddresses(have.addresses, rrset.addresses);
  if (!addressesChanged && !ttlNeedsWrite(have.ttl, rrset.ttl, want.ttlBounds)) return;
  set[type] = rrset;
  if (addressesChanged) {
    const before = normalizeAddresses(have.addresses).join(', ');
    reasons.push({
      subject: type,
      kind: 'addresses',
      text: `${type}: addresses changed ${before} → ${rrset.addresses.join(', ')}${from}`,
    });
  }
  if (have.ttl !== rrset.ttl)
    reasons.push({ subject: type, kind: 'ttl', text: `${type}: ttl ${have.ttl} → ${rrset.ttl}${from}` });
}

/**
 * Behaviour rule 4's band keeps small TTL movements from churning the zone, but never excuses a TTL that
 * lies outside the policy (the user lowered `ttl.max` by 10%: that must land).
 */
function ttlNeedsWrite(current: number, desired: number, bounds: TtlBounds): boolean {
  if (current === desired) return false;
  if (!withinBounds(current, bounds)) return true;
  return !withinBand(current, desired);
}
