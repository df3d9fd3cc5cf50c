import { describe, expect, it } from 'vitest';
import {
  retainedMarkerValue,
  classifyOwnership,
  describeMarker,
  markerName,
  markerValue,
  parseMarker,
} from '../../../src/plan/ownership.ts';
import type { OwnershipStatus } from '../../../src/plan/types.ts';
import { OTHER_OWNER, OURS, ownership, SIBLING } from './fixtures.ts';

describe('marker names and values', () => {
  it('behaviour rule 7: the marker lives at _apexalias.<name>', () => {
    expect(markerName('example.com')).toBe('_apexalias.example.com');
    expect(markerName('www.example.com')).toBe('_apexalias.www.example.com');
  });

  it('behaviour rule 7: the marker value names heritage, owner and resource', () => {
    expect(markerValue('apexalias-prod', 'web/apex')).toBe(OURS);
  });
});

describe('parseMarker', () => {
  it.each([
    [OURS, { heritage: 'apexalias', owner: 'apexalias-prod', resource: 'web/apex', retained: false }],
    [
      'resource=web/apex,owner=apexalias-prod,heritage=apexalias',
      { heritage: 'apexalias', owner: 'apexalias-prod', resource: 'web/apex', retained: false },
    ],
    [
      `${OURS},version=2`,
      { heritage: 'apexalias', owner: 'apexalias-prod', resource: 'web/apex', retained: false },
    ],
    [
      `${OURS},retained=true`,
      { heritage: 'apexalias', owner: 'apexalias-prod', resource: 'web/apex', retained: true },
    ],
  ])('reads %j', (text, expected) => {
    expect(parseMarker(text)).toEqual(expected);
  });

  it.each([
    'heritage=external-dns,external-dns/owner=default',
    'heritage=apexalias,owner=apexalias-prod',
    'heritage=apexalias,owner=,resource=web/apex',
    'heritage=apexalias,owner=a,owner=b,resource=web/apex',
    'v=spf1 -all',
    '',
    '=apexalias',
  ])('refuses %j', (text) => {
    expect(parseMarker(text)).toBeUndefined();
  });
});

describe('classifyOwnership', () => {
  it.each<[string, string[] | undefined, OwnershipStatus]>([
    ['behaviour rule 7: no TXT at the marker name is unclaimed', undefined, 'unclaimed'],
    ['behaviour rule 7: an empty TXT list is unclaimed', [], 'unclaimed'],
    ['behaviour rule 7: exactly our value is ours', [OURS], 'ours'],
    ['behaviour rule 7: our controller, another ApexAlias → conflict', [SIBLING], 'conflict'],
    ['behaviour rule 7: another controller id → foreign', [OTHER_OWNER], 'foreign'],
    ['behaviour rule 7: unrelated TXT content → foreign', ['v=spf1 -all'], 'foreign'],
    [
      'behaviour rule 7: several TXT strings, even one of them ours → foreign',
      [OURS, 'v=spf1 -all'],
      'foreign',
    ],
    ['behaviour rule 7: our marker twice → foreign', [OURS, OURS], 'foreign'],
    [
      'behaviour rule 7: our fields in another order → foreign (a conditional write on our exact value could not land)',
      ['resource=web/apex,owner=apexalias-prod,heritage=apexalias'],
      'foreign',
    ],
  ])('%s', (_name, marker, expected) => {
    expect(classifyOwnership(marker, ownership())).toBe(expected);
  });
});

describe('describeMarker', () => {
  it('names the holder for people', () => {
    expect(describeMarker(undefined)).toBe('no ownership marker');
    expect(describeMarker([OTHER_OWNER])).toBe('owner "apexalias-staging", resource web/apex');
    expect(describeMarker(['v=spf1 -all'])).toBe('a foreign TXT record "v=spf1 -all"');
    expect(describeMarker(['a', 'b'])).toBe('2 TXT records ("a", "b")');
  });
});

describe('behaviour rule 11: a retained marker', () => {
  it('is taken back by an alias of the same key, and is foreign to every other', () => {
    const retained = retainedMarkerValue('apexalias-prod', 'web/apex');
    expect(classifyOwnership([retained], ownership())).toBe('retained');
    expect(classifyOwnership([retained], { ...ownership(), resource: 'web/other' })).toBe('conflict');
  });
});
