// fcnet's ESM entry (`import { MLP, fit } from 'fcnet'`) over the CommonJS build, so ESM and CommonJS
// importers share one copy of the module. Node finds the names in tsc's CommonJS output (its
// `Object.defineProperty(exports, ...)` re-exports are a form Node's ESM loader reads), so a new export in
// lib/index.ts needs nothing here; test/esm.test.ts checks that every one comes through.
export * from '../../dist/lib/index.js';
export { default } from '../../dist/lib/index.js';
