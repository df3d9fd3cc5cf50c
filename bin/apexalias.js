#!/usr/bin/env node
import { stopWhenOrphaned } from '../src/cli/orphan.ts';

// Under npx/npm run, a signal to npm never reaches this process (see src/cli/orphan.ts).
stopWhenOrphaned();
await import('../src/cli/main.ts');
