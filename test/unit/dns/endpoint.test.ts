import { describe, expect, it } from 'vitest';
import { DnsError } from '../../../src/dns/errors.ts';
import { formatEndpoint, parseEndpoint } from '../../../src/dns/transport.ts';

describe('parseEndpoint', () => {
  it.each([
    ['1.2.3.4', { host: '1.2.3.4', port: 53 }],
    ['1.2.3.4:5353', { host: '1.2.3.4', port: 5353 }],
    [' 192.0.2.1:53 ', { host: '192.0.2.1', port: 53 }],
    ['[::1]:53', { host: '::1', port: 53 }],
    ['[2001:db8::1]:5300', { host: '2001:db8::1', port: 5300 }],
    ['[::1]', { host: '::1', port: 53 }],
    ['::1', { host: '::1', port: 53 }],
    ['2001:db8::53', { host: '2001:db8::53', port: 53 }],
    ['localhost:53', { host: 'localhost', port: 53 }],
    ['ns1.example.net', { host: 'ns1.example.net', port: 53 }],
    ['bind.dns-system.svc.cluster.local:1053', { host: 'bind.dns-system.svc.cluster.local', port: 1053 }],
  ])('%s', (text, expected) => {
    expect(parseEndpoint(text)).toEqual(expected);
  });

  it('uses the default port it is given', () => {
    expect(parseEndpoint('192.0.2.1', 5353)).toEqual({ host: '192.0.2.1', port: 5353 });
    expect(parseEndpoint('[::1]', 5353)).toEqual({ host: '::1', port: 5353 });
  });

  it.each([
    '',
    '   ',
    ':53',
    '1.2.3.4:',
    '1.2.3.4:0',
    '1.2.3.4:65536',
    '1.2.3.4:53x',
    '1.2.3.4:-1',
    '1.2.3.999',
    '[::1',
    '[::1]x',
    '[::1]:',
    '[1.2.3.4]:53',
    '2001:db8::1:53:99999',
    'host name',
    'http://1.2.3.4',
    'exa_mple..com',
    '-bad.example',
  ])('rejects %j with ERR_DNS_ENDPOINT', (text) => {
    expect(() => parseEndpoint(text)).toThrow(DnsError);
    try {
      parseEndpoint(text);
    } catch (err) {
      expect((err as DnsError).code).toBe('ERR_DNS_ENDPOINT');
    }
  });
});

describe('formatEndpoint', () => {
  it('brackets IPv6 literals', () => {
    expect(formatEndpoint({ host: '::1', port: 53 })).toBe('[::1]:53');
    expect(formatEndpoint({ host: '192.0.2.1', port: 5353 })).toBe('192.0.2.1:5353');
  });
});
