import { startPowerDns } from '../harness/powerdns.ts';
import { describeBackendConformance } from './conformance/suite.ts';
import { rfc2136Fixture } from './conformance/rfc2136-fixture.ts';
import { describeRfc2136Server } from './rfc2136-server.ts';

describeBackendConformance('rfc2136 against PowerDNS', async () =>
  rfc2136Fixture(await startPowerDns({ zones: [{ name: 'example.test' }] }), 'example.test'),
);

// PowerDNS 4.7 answers an unsigned update for a zone with TSIG-ALLOW-DNSUPDATE with REFUSED
// ("TSIG key required"), like BIND. An update whose TSIG does not verify (wrong secret, unknown
// key) gets a plain REFUSED without a TSIG RR instead of RFC 8945's NOTAUTH + BADSIG/BADKEY.
describeRfc2136Server('PowerDNS', (opts) => startPowerDns(opts), {
  unsignedRcode: 'REFUSED',
  tsigFailure: 'refused',
});
