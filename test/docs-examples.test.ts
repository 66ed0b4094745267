// The command-line outputs quoted in README.md and docs/ (the blocks marked `<!-- example -->`) are what the
// current build prints: each command is run again and compared, timings, speeds and thread counts masked.
// `npm run docs:examples` rewrites them (and docs/plots) when the output changes on purpose.
import { backends } from '../lib/backends';
import { mask, placeOutput, runExamples } from '../scripts/docs-examples';
import { compiledLib } from './support/compiled';

beforeAll(() => compiledLib()); // the examples run the built CLI, which must be as new as lib/

test('a quote matches its output with `...` for any lines or any text, timings masked, every other figure exact', () => {
  const output = ['fcnet: training 784-500-10 on cpu (OpenBLAS 0.3.21, 16 threads)', 'Epoch [1/5], Step [100/600], Loss: 0.3115', 'Epoch [1/5], Step [200/600], Loss: 0.2131', 'fcnet: epoch 1 took 2.913 s'];
  const quoted = ['fcnet: training 784-500-10 on cpu (...)', '...', 'fcnet: epoch 1 took 0.481 s'];
  expect(placeOutput(quoted, output, false)).toEqual([null, null, 'fcnet: epoch 1 took 2.913 s']);
  expect(placeOutput(['...', 'Epoch [1/5], Step [200/600], Loss: 0.2131', '...'], output, false)).not.toBeNull();
  expect(placeOutput(['...', 'Epoch [1/5], Step [200/600], Loss: 0.2132', '...'], output, false)).toBeNull();
  expect(placeOutput(['...', 'Epoch [1/5], Step [200/600], Loss: 0.2132', '...'], output, true)).toEqual([null, 'Epoch [1/5], Step [200/600], Loss: 0.2131', null]);
  expect(placeOutput(quoted.slice(0, 1), output, false)).toBeNull(); // the lines after it are neither quoted nor elided
  expect(placeOutput(quoted.slice(0, 2), output, false)).toEqual([null, null]); // a last `...` stands for all of them
  expect(mask('{"seconds":1.42,"samplesPerSecond":103103.6,"loss":0.07} 2 threads 41,234 img/s ETA 0:07')).toBe('{"seconds":#,"samplesPerSecond":#,"loss":0.07} # threads # img/s ETA #');
});

// The quoted numbers are the cpu backend's: where `auto` takes a GPU, the losses differ in their last digits.
const cuda = backends().find((b) => b.name === 'cuda')?.available === true;
if (cuda) console.log('docs examples test skipped: `auto` trains on cuda here, and the docs quote cpu runs');

(cuda ? test.skip : test)('every marked example prints what the docs quote', () => {
  const { commands, differences } = runExamples(false);
  expect(commands).toBeGreaterThanOrEqual(15); // README.md, docs/cli.md and docs/checkpoints.md mark 15 commands
  const report = differences.map((d) => `${d.where}: \`${d.command}\`\n--- quoted\n${d.quoted.join('\n')}\n--- now\n${d.output.join('\n')}`);
  expect(report).toEqual([]);
}, 600_000);
