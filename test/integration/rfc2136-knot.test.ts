import { startKnot } from '../harness/knot.ts';
import { describeBackendConformance } from './conformance/suite.ts';
import { rfc2136Fixture } from './conformance/rfc2136-fixture.ts';
import { describeRfc2136Server } from './rfc2136-server.ts';

describeBackendConformance('rfc2136 against Knot', async () =>
  rfc2136Fixture(await startKnot({ zones: [{ name: 'example.test' }] }), 'example.test'),
);

describeRfc2136Server('Knot', (opts) => startKnot(opts), { unsignedRcode: 'NOTAUTH' });
