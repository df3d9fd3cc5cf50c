// The import direction of src/, written once. A folder may import its own layer and the layers
// below it, never one above; and nothing may import in a circle, types included.
//
//   cli -> controller, sources -> engine -> drift, backends -> resolve, config, observe
//       -> api, plan, dns -> errors, util
//
// `npm run check` runs this (`npm run check:layers`).
const LAYERS = [
  ['errors.ts', 'util'],
  ['api', 'plan', 'dns'],
  ['resolve', 'config', 'observe'],
  ['drift', 'backends'],
  ['engine'],
  ['controller', 'sources'],
  ['cli'],
];

const folders = (layers) => `^src/(${layers.flat().join('|').replaceAll('.', '\\.')})`;

module.exports = {
  forbidden: [
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `layer-${layer.join('-').replace('.ts', '')}`,
      comment: `${layer.join(', ')} may not import from the layers above it: ${LAYERS.slice(i + 1)
        .flat()
        .join(', ')}`,
      severity: 'error',
      from: { path: folders([layer]) },
      to: { path: folders(LAYERS.slice(i + 1)) },
    })),
    {
      name: 'no-circular',
      comment: 'modules may not import each other in a circle (type imports count)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-from-tests',
      comment: 'src/ never imports test, bench or script code',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
