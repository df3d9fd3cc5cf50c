import { startBind } from '../harness/bind.ts';
import { describeBackendConformance } from './conformance/suite.ts';
import { rfc2136Fixture } from './conformance/rfc2136-fixture.ts';
import { describeRfc2136Server } from './rfc2136-server.ts';

describeBackendConformance('rfc2136 against BIND 9', async () =>
  rfc2136Fixture(await startBind({ zones: [{ name: 'example.test' }] }), 'example.test'),
);

describeRfc2136Server('BIND 9', (opts) => startBind(opts), { unsignedRcode: 'REFUSED' });
