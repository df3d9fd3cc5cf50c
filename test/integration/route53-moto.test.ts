import { startMoto } from '../harness/moto.ts';
import { describeBackendConformance } from './conformance/suite.ts';
import { route53Fixture } from './conformance/route53-fixture.ts';

describeBackendConformance('route53 against moto (Route 53 change-batch semantics)', async () =>
  route53Fixture(await startMoto(), 'example.test'),
);
