/**
 * The cross-field rules of the ApexAlias spec, each written twice side by side: as the CEL rule the
 * apiserver runs at admission (`x-kubernetes-validations` on `spec`), and as the TypeScript
 * predicate standalone mode runs. Keeping the pair in one row is what stops them drifting apart;
 * test/unit/api runs every case of test/fixtures/apexalias-cases.ts through the predicates, and the
 * apiserver suite runs the same cases through the CEL.
 *
 * Both sides see the spec after defaulting (the apiserver defaults before it validates), so fields
 * with a default are always present; only `ttl.min` and `backend` are optional.
 *
 * The CEL is kept to what the apiserver's cost estimator accepts: every string it reads has a
 * `maxLength` and every list a `maxItems` in the schema. `isIP()` needs Kubernetes ≥ 1.31.
 */
import {
  HOSTNAME_RE,
  LABEL_ONLY_RE,
  OWNER_NAME_RE,
  ZONE_RE,
  absoluteName,
  isHostname,
  isIP,
  isLabel,
  isZoneName,
  MAX_NAME_LENGTH,
} from './dnsname.ts';
import { MARKER_LABEL } from '../plan/ownership.ts';

/**
 * The longest owner name (without its trailing dot) an alias may have: the ownership marker
 * `_apexalias.<owner name>` is written too (behaviour rule 7), and it must itself be a valid
 * DNS name of at most 253 characters. A longer owner name would make every write and read of
 * the marker fail, and with them the whole batch of its zone.
 */
export const MAX_OWNER_NAME_LENGTH = MAX_NAME_LENGTH - MARKER_LABEL.length - 1;

export interface SpecRule {
  /** Stable identifier, for tests and documentation. */
  id: string;
  /** The CEL expression; `self` is the spec. */
  cel: string;
  /** Shown to the user when the rule fails, by the apiserver and by standalone mode alike. */
  message: string;
  /** The field the failure is reported on, relative to `spec` (CEL `fieldPath`). */
  fieldPath?: string;
  /**
   * The spec fields the rule reads. Standalone validation runs the rule whenever these are well
   * formed, so that one pass reports every problem, not only the schema's.
   */
  reads: readonly (keyof RuleSpec)[];
  /** The TypeScript twin of `cel`: true when the spec passes. */
  check: (spec: RuleSpec) => boolean;
}

/**
 * The defaulted spec fields the rules read. Declared here rather than imported from schema.ts,
 * which imports the rules to put them into the CRD: the schema's `ApexAliasSpec` fits it.
 */
export interface RuleSpec {
  zone: string;
  name: string;
  target: string;
  addressFamilies: readonly string[];
  ttl: { min?: number; max: number };
  onTargetMissing: string;
  fallbackAddresses: readonly string[];
  backend?: string;
}

/** A CEL string literal holding `text`. */
function celString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// The same derived names in both languages. Comparisons are made between absolute forms (with a
// trailing dot) so that "example.com" and "example.com." are the same zone on both sides.
const CEL_ZONE_ABS = `(self.zone.endsWith('.') ? self.zone : self.zone + '.')`;
const CEL_OWNER_ABS = `(self.name == '@' ? ${CEL_ZONE_ABS} : (self.name.endsWith('.') ? self.name : self.name + '.' + ${CEL_ZONE_ABS}))`;
const CEL_TARGET_ABS = `(self.target.endsWith('.') ? self.target : self.target + '.')`;

function ownerAbs(spec: RuleSpec): string {
  const zoneAbs = absoluteName(spec.zone);
  if (spec.name === '@') return zoneAbs;
  return spec.name.endsWith('.') ? spec.name : `${spec.name}.${zoneAbs}`;
}

const ownerNameRe = new RegExp(OWNER_NAME_RE);

/** Every cross-field rule of the spec, in the order the CRD lists them. */
export const SPEC_RULES: readonly SpecRule[] = [
  {
    id: 'zone-is-dns-name',
    reads: ['zone'],
    cel: `self.zone.matches(${celString(ZONE_RE)}) && size(self.zone) <= (self.zone.endsWith('.') ? 254 : 253)`,
    message:
      "zone must be a lower-case DNS name such as example.com: labels of a-z, 0-9 and '-' (not at " +
      'either end), at most 63 characters each and 253 in all, the last label starting with a letter',
    fieldPath: '.zone',
    check: (s) => isZoneName(s.zone),
  },
  {
    id: 'name-syntax',
    reads: ['name'],
    cel: `self.name == '@' || self.name.matches(${celString(OWNER_NAME_RE)})`,
    message:
      "name must be '@' for the zone apex, a name relative to the zone such as 'www', or an " +
      "absolute name ending in a dot; labels are lower-case a-z, 0-9 and '-', at most 63 characters each",
    fieldPath: '.name',
    check: (s) => s.name === '@' || ownerNameRe.test(s.name),
  },
  {
    id: 'absolute-name-inside-zone',
    reads: ['name', 'zone'],
    cel: `!self.name.endsWith('.') || self.name == ${CEL_ZONE_ABS} || self.name.endsWith('.' + ${CEL_ZONE_ABS})`,
    message:
      'name ends with a dot, so it is absolute, and must then be the zone itself or a name inside the zone',
    fieldPath: '.name',
    check: (s) => {
      const zoneAbs = absoluteName(s.zone);
      return !s.name.endsWith('.') || s.name === zoneAbs || s.name.endsWith(`.${zoneAbs}`);
    },
  },
  {
    id: 'relative-name-not-repeating-zone',
    reads: ['name', 'zone'],
    cel:
      `self.name == '@' || self.name.endsWith('.') || ` +
      `!(self.name + '.' == ${CEL_ZONE_ABS} || (self.name + '.').endsWith('.' + ${CEL_ZONE_ABS}))`,
    message:
      "name is relative to the zone and must not repeat the zone: write 'www', not 'www.example.com' " +
      "(or end the name with a dot to make it absolute; use '@' for the apex)",
    fieldPath: '.name',
    check: (s) => {
      if (s.name === '@' || s.name.endsWith('.')) return true;
      const zoneAbs = absoluteName(s.zone);
      const nameAbs = `${s.name}.`;
      return !(nameAbs === zoneAbs || nameAbs.endsWith(`.${zoneAbs}`));
    },
  },
  {
    id: 'owner-name-length',
    reads: ['name', 'zone'],
    cel: `size(${CEL_OWNER_ABS}) <= ${MAX_OWNER_NAME_LENGTH + 1}`,
    message:
      `the full owner name (name and zone together) must be at most ${MAX_OWNER_NAME_LENGTH} characters, ` +
      `so that its ownership marker ${MARKER_LABEL}.<owner name> fits in the ${MAX_NAME_LENGTH} characters ` +
      'a DNS name may have',
    fieldPath: '.name',
    check: (s) => ownerAbs(s).length <= MAX_OWNER_NAME_LENGTH + 1,
  },
  {
    id: 'target-is-hostname',
    reads: ['target'],
    cel: `self.target.matches(${celString(HOSTNAME_RE)}) && size(self.target) <= (self.target.endsWith('.') ? 254 : 253)`,
    message:
      'target must be a fully qualified lower-case hostname with at least two labels, such as ' +
      "lb.example.net: labels of a-z, 0-9 and '-' (not at either end), at most 63 characters each and " +
      '253 in all, the last label starting with a letter (an IP address is not a target)',
    fieldPath: '.target',
    check: (s) => isHostname(s.target),
  },
  {
    id: 'target-not-self',
    reads: ['target', 'name', 'zone'],
    cel: `${CEL_TARGET_ABS} != ${CEL_OWNER_ABS}`,
    message:
      'target must not be the alias itself (name in zone): an alias that points at itself never resolves',
    fieldPath: '.target',
    check: (s) => absoluteName(s.target) !== ownerAbs(s),
  },
  {
    id: 'address-families-unique',
    reads: ['addressFamilies'],
    cel: 'self.addressFamilies.all(f, self.addressFamilies.exists_one(g, g == f))',
    message: 'addressFamilies must not list a family twice',
    fieldPath: '.addressFamilies',
    check: (s) => new Set(s.addressFamilies).size === s.addressFamilies.length,
  },
  {
    id: 'ttl-min-not-above-max',
    reads: ['ttl'],
    cel: '!has(self.ttl.min) || self.ttl.min <= self.ttl.max',
    message: 'ttl.min must be less than or equal to ttl.max',
    fieldPath: '.ttl.min',
    check: (s) => s.ttl.min === undefined || s.ttl.min <= s.ttl.max,
  },
  {
    id: 'fallback-addresses-are-ips',
    reads: ['fallbackAddresses'],
    cel: 'self.fallbackAddresses.all(a, isIP(a))',
    message:
      'every entry of fallbackAddresses must be an IPv4 or IPv6 address such as 192.0.2.10 or ' +
      '2001:db8::10 (no zone index, no IPv4-mapped IPv6, no leading zeros)',
    fieldPath: '.fallbackAddresses',
    check: (s) => s.fallbackAddresses.every((a) => isIP(a)),
  },
  {
    id: 'fallback-addresses-match-families',
    reads: ['fallbackAddresses', 'addressFamilies'],
    cel:
      'self.fallbackAddresses.all(a, !isIP(a) || ' +
      "(a.contains(':') ? 'IPv6' in self.addressFamilies : 'IPv4' in self.addressFamilies))",
    message:
      'fallbackAddresses must only hold addresses of the families listed in addressFamilies ' +
      '(an IPv6 address needs IPv6, an IPv4 address needs IPv4)',
    fieldPath: '.fallbackAddresses',
    check: (s) =>
      s.fallbackAddresses.every(
        (a) => !isIP(a) || s.addressFamilies.includes(a.includes(':') ? 'IPv6' : 'IPv4'),
      ),
  },
  {
    id: 'fallback-needs-addresses',
    reads: ['onTargetMissing', 'fallbackAddresses'],
    cel: "self.onTargetMissing != 'Fallback' || size(self.fallbackAddresses) > 0",
    message: 'onTargetMissing: Fallback needs at least one address in fallbackAddresses',
    fieldPath: '.fallbackAddresses',
    check: (s) => s.onTargetMissing !== 'Fallback' || s.fallbackAddresses.length > 0,
  },
  {
    id: 'backend-name',
    reads: ['backend'],
    cel: `!has(self.backend) || self.backend.matches(${celString(LABEL_ONLY_RE)})`,
    message:
      "backend must name a backend of the controller configuration: lower-case a-z, 0-9 and '-', at most 63 characters",
    fieldPath: '.backend',
    check: (s) => s.backend === undefined || isLabel(s.backend),
  },
];

/** The rules as `x-kubernetes-validations` entries for the spec schema. */
export function celValidations(): { rule: string; message: string; fieldPath?: string }[] {
  return SPEC_RULES.map((r) =>
    r.fieldPath === undefined
      ? { rule: r.cel, message: r.message }
      : { rule: r.cel, message: r.message, fieldPath: r.fieldPath },
  );
}

/**
 * Runs every rule, or with `skip` only those that read none of the fields named in it (fields the
 * schema already found malformed); returns the failures as `spec<fieldPath>: <message>`.
 */
export function checkSpecRules(spec: RuleSpec, skip: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  for (const rule of SPEC_RULES) {
    if (rule.reads.some((field) => skip.has(field))) continue;
    if (!rule.check(spec)) problems.push(`spec${rule.fieldPath ?? ''}: ${rule.message}`);
  }
  return problems;
}
