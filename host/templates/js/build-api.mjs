// Builds the connector component with componentize-js's JavaScript API
// (the `jco componentize` command line does not take this WIT path here).
import { writeFile } from 'node:fs/promises';
import { componentize } from '@bytecodealliance/componentize-js';

// The host offers no WASI HTTP (connectors reach APIs through http-api
// only): leave fetch out. The world exports `details`, where the API is declared.
const { component } = await componentize({
  sourcePath: 'connector.js',
  witPath: 'wit',
  worldName: 'described-plugin',
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile('connector.wasm', component);
console.log('built connector.wasm');
