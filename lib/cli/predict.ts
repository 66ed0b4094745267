// `fcnet predict MODEL IMAGE`: the digit a saved network sees in a PNG picture, and how sure it is.
import { readModelWeights } from '../checkpoint';
import { MNIST_SIDE, toMnistInput } from '../image/mnist-input';
import { readPngFile } from '../image/read-png';
import { MLP } from '../model';
import { backendOptions, chosenBackend, type OptionSpec } from './args';
import { execute, type CommandInput, type CommandSpec } from './command';

const options: OptionSpec[] = [
  { flags: '--json', description: 'print one line of JSON instead: {"digit":7,"probabilities":[...],"inverted":false}' },
  ...backendOptions,
];

/** Probabilities from logits, in double precision, shifted by the largest so exp never overflows. */
export function softmax(logits: ArrayLike<number>): number[] {
  const largest = Math.max(...Array.from(logits));
  const exps = Array.from(logits, (z) => Math.exp(z - largest));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

async function predictRun({ args, options: o }: CommandInput): Promise<void> {
  const [modelFile, imageFile] = args;
  const backend = chosenBackend(o);
  const weights = readModelWeights(modelFile);
  const pixels = MNIST_SIDE * MNIST_SIDE;
  if (weights.sizes[0] !== pixels) {
    throw new Error(`${modelFile} holds a network with ${weights.sizes[0]} inputs but predict gives it ${MNIST_SIDE}×${MNIST_SIDE} = ${pixels} pixels`);
  }
  const { pixels: grey, inverted } = toMnistInput(readPngFile(imageFile));

  const model = new MLP({ sizes: weights.sizes, backend });
  model.loadStateDict(weights.parameters);
  const probabilities = softmax(model.logits(Float32Array.from(grey, (v) => v / 255), 1));
  const digit = probabilities.indexOf(Math.max(...probabilities));
  if (o.json) {
    console.log(JSON.stringify({ digit, probabilities, inverted }));
    return;
  }
  // The note first, as the README shows it: it says what the numbers below were computed from.
  if (inverted) console.error('fcnet: the picture was dark on light, so it was inverted to look like MNIST (white on black)');
  console.log(`Predicted digit: ${digit} (probability ${probabilities[digit].toFixed(4)})`);
  probabilities.forEach((p, d) => console.log(`  ${d}: ${p.toFixed(4)}`));
}

export const predictSpec: CommandSpec = {
  name: 'predict',
  summary: 'the digit a saved network sees in a PNG picture',
  arguments: ['MODEL', 'IMAGE'],
  description: `Prints the digit that the network in MODEL (any file fcnet eval reads) sees in IMAGE, a PNG of any size and colour type, and the ten probabilities (the softmax of the network's outputs). The picture is first made to look like MNIST: grey (ITU-R BT.601 luma, transparency composited over black), inverted when it is dark ink on a light background, centred on a square and scaled to 28×28 by area averaging.`,
  options,
  run: predictRun,
};

/** `fcnet predict ARGV`, for tests and scripts: throws what `fcnet predict` would report. */
export function predictCommand(argv: string[]): Promise<void> {
  return execute([predictSpec], ['predict', ...argv]);
}
