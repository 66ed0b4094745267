// `npm run bench`: the benchmark, the same as `fcnet bench`.
import { main } from '../lib/cli/main';

main(['bench', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
