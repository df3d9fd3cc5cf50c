#!/usr/bin/env node
// Node 24 runs the TypeScript sources in src/ directly, but refuses to strip types from files
// under node_modules. An installed package (npm install, npx) therefore runs dist/, the JavaScript
// that `npm pack` compiles from src/ (tsconfig.build.json); a checkout and the image run src/.
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const installed = fileURLToPath(import.meta.url)
  .split(sep)
  .includes('node_modules');
const { stopWhenOrphaned } = await import(installed ? '../dist/cli/orphan.js' : '../src/cli/orphan.ts');
// Under npx/npm run, a signal to npm never reaches this process (see src/cli/orphan.ts).
stopWhenOrphaned();
await import(installed ? '../dist/cli/main.js' : '../src/cli/main.ts');
