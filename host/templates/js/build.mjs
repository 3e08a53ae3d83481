// Builds the connector component with componentize-js's JavaScript API
// (the `jco componentize` command line does not take this WIT path here).
import { writeFile } from 'node:fs/promises';
import { componentize } from '@bytecodealliance/componentize-js';

// The host offers no WASI HTTP (connectors reach services and APIs through
// its capabilities only): leave fetch out.
const { component } = await componentize({
  sourcePath: 'connector.js',
  witPath: 'wit',
  worldName: '{{world}}',
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile('connector.wasm', component);
console.log('built connector.wasm');
