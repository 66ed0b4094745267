// `npm run train`: the bundled train script, the same as `fcnet train`.
import { main } from '../lib/cli/main';

main(['train', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
