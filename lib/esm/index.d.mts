// Types for fcnet's ESM entry: the same as the CommonJS entry's, plus the default export index.mjs adds.
import * as fcnet from '../../dist/lib/index.js';

export * from '../../dist/lib/index.js';
export default fcnet;
