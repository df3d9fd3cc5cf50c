import { describe, expect, it } from 'vitest';
import { ApexAliasError } from '../../../src/errors.ts';
import {
  DnsError,
  DnsMalformedError,
  DnsNetworkError,
  DnsRcodeError,
  DnsTimeoutError,
  TsigError,
  rcodeName,
} from '../../../src/dns/errors.ts';

describe('rcodeName', () => {
  it.each([
    [0, 'NOERROR'],
    [1, 'FORMERR'],
    [2, 'SERVFAIL'],
    [3, 'NXDOMAIN'],
    [4, 'NOTIMP'],
    [5, 'REFUSED'],
    [6, 'YXDOMAIN'],
    [7, 'YXRRSET'],
    [8, 'NXRRSET'],
    [9, 'NOTAUTH'],
    [10, 'NOTZONE'],
    [11, 'DSOTYPENI'],
    [16, 'BADSIG'],
    [17, 'BADKEY'],
    [18, 'BADTIME'],
    [19, 'BADMODE'],
    [20, 'BADNAME'],
    [21, 'BADALG'],
    [22, 'BADTRUNC'],
    [23, 'BADCOOKIE'],
    [12, 'RCODE12'],
    [3841, 'RCODE3841'],
  ])('%i is %s', (rcode, name) => {
    expect(rcodeName(rcode)).toBe(name);
  });
});

describe('error classes', () => {
  it('give DnsRcodeError a stable code per RCODE', () => {
    const err = new DnsRcodeError(5);
    expect(err).toBeInstanceOf(DnsError);
    expect(err).toBeInstanceOf(ApexAliasError);
    expect(err.code).toBe('ERR_DNS_RCODE_REFUSED');
    expect(err.rcode).toBe(5);
    expect(err.rcodeName).toBe('REFUSED');
    expect(err.name).toBe('DnsRcodeError');
    expect(new DnsRcodeError(7).code).toBe('ERR_DNS_RCODE_YXRRSET');
    expect(new DnsRcodeError(9, 'custom').message).toBe('custom');
  });

  it('give every other class its documented code', () => {
    expect(new TsigError('BADKEY', 'm').code).toBe('ERR_TSIG_BADKEY');
    expect(new TsigError('UNSIGNED', 'm').tsigError).toBe('UNSIGNED');
    expect(new DnsTimeoutError('m').code).toBe('ERR_DNS_TIMEOUT');
    expect(new DnsMalformedError('m').code).toBe('ERR_DNS_MALFORMED');
    expect(new DnsNetworkError('m').code).toBe('ERR_DNS_NETWORK');
    for (const err of [new TsigError('BADSIG', 'm'), new DnsTimeoutError('m'), new DnsNetworkError('m')]) {
      expect(err).toBeInstanceOf(DnsError);
    }
  });
});
