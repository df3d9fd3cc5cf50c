import { describe, expect, it } from 'vitest';
import {
  markerName,
  markerValue,
  ownerName,
  parseMarker,
  targetName,
  zoneName,
} from '../../../src/api/index.ts';

describe('ownerName', () => {
  it.each([
    [{ zone: 'example.com' }, 'example.com'],
    [{ zone: 'example.com', name: '@' }, 'example.com'],
    [{ zone: 'example.com.', name: '@' }, 'example.com'],
    [{ zone: 'Example.COM', name: 'WWW' }, 'www.example.com'],
    [{ zone: 'example.com', name: 'api.eu' }, 'api.eu.example.com'],
    [{ zone: 'example.com.', name: 'www' }, 'www.example.com'],
    [{ zone: 'example.com', name: 'www.example.com.' }, 'www.example.com'],
    [{ zone: 'example.com', name: 'example.com.' }, 'example.com'],
  ])('%j → %s', (spec, fqdn) => {
    expect(ownerName(spec)).toBe(fqdn);
  });

  it('normalises zone and target', () => {
    expect(zoneName({ zone: 'Example.com.' })).toBe('example.com');
    expect(targetName({ target: 'LB.demo.test.' })).toBe('lb.demo.test');
  });
});

describe('ownership marker', () => {
  it('names the TXT record under _apexalias', () => {
    expect(markerName('example.com')).toBe('_apexalias.example.com');
    expect(markerName('WWW.example.com.')).toBe('_apexalias.www.example.com');
  });

  it('writes and reads back the marker value', () => {
    const value = markerValue('apexalias', 'team-a', 'shop');
    expect(value).toBe('heritage=apexalias,owner=apexalias,resource=team-a/shop');
    expect(parseMarker(value)).toEqual({
      heritage: 'apexalias',
      owner: 'apexalias',
      resource: 'team-a/shop',
    });
  });

  it('tolerates spaces and unknown keys', () => {
    expect(parseMarker(' heritage=apexalias , owner=ctl-2 , resource=ns/a , version=2 ')).toEqual({
      heritage: 'apexalias',
      owner: 'ctl-2',
      resource: 'ns/a',
    });
  });

  it.each([
    '',
    'v=spf1 -all',
    'heritage=external-dns,external-dns/owner=default,external-dns/resource=service/ns/x',
    'heritage=apexalias,owner=a',
    'heritage=apexalias,resource=ns/a',
    'heritage=apexalias,owner=,resource=ns/a',
    'heritage=apexalias,owner=a,owner=b,resource=ns/a',
    'heritage=apexalias,owner=a,resource=ns/a,junk',
  ])('rejects %j', (text) => {
    expect(parseMarker(text)).toBeUndefined();
  });
});
