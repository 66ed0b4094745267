// `fcnet predict MODEL IMAGE`: the digit a saved network sees in a PNG or JPEG picture, and how sure it is.
import { describeWeights, readModelWeights, type Activation } from '../checkpoint';
import { MIN_INK_CONTRAST, MNIST_SIDE, toMnistInput } from '../image/mnist-input';
import { readImageFile } from '../image/read-image';
import { MLP } from '../model';
import { activationOption, backendOptions, chosenBackend, type OptionSpec } from './args';
import { execute, type CommandInput, type CommandSpec } from './command';

const options: OptionSpec[] = [
  { flags: '--json', description: 'print one line of JSON instead: {"digit":7,"probabilities":[...],"inverted":false}' },
  ...backendOptions,
  activationOption,
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
  const activation = o.activation as Activation | undefined;
  const weights = readModelWeights(modelFile, activation === undefined ? {} : { activation });
  const pixels = MNIST_SIDE * MNIST_SIDE;
  if (weights.sizes[0] !== pixels) {
    throw new Error(`${modelFile} holds a network with ${weights.sizes[0]} inputs but predict gives it ${MNIST_SIDE}×${MNIST_SIDE} = ${pixels} pixels`);
  }
  const { pixels: grey, inverted, blank, contrast } = toMnistInput(readImageFile(imageFile));
  if (blank) {
    throw new Error(`${imageFile}: the picture has no ink: its grey levels span ${contrast.toFixed(1)} of 255 at 28×28 (under ${MIN_INK_CONTRAST}), so it is blank or one colour; draw the digit in a colour that stands out from its background`);
  }

  const model = new MLP({ sizes: weights.sizes, layerNames: weights.layerNames, backend });
  model.loadStateDict(weights.parameters);
  const probabilities = softmax(model.logits(Float32Array.from(grey, (v) => v / 255), 1));
  const digit = probabilities.indexOf(Math.max(...probabilities));
  if (o.json) {
    console.log(JSON.stringify({ digit, probabilities, inverted }));
    return;
  }
  // The notes first, as the README shows them: they say what the numbers below were computed from.
  if (weights.layerNames.some((name, l) => name !== `fc${l + 1}`) || weights.notes.length > 0) console.error(`fcnet: ${modelFile}: ${describeWeights(weights)}`);
  for (const note of weights.notes) console.error(`fcnet: ${modelFile}: ${note}`);
  if (inverted) console.error('fcnet: the picture was dark on light, so it was inverted to look like MNIST (white on black)');
  console.log(`Predicted digit: ${digit} (probability ${probabilities[digit].toFixed(4)})`);
  probabilities.forEach((p, d) => console.log(`  ${d}: ${p.toFixed(4)}`));
}

export const predictSpec: CommandSpec = {
  name: 'predict',
  summary: 'the digit a saved network sees in a PNG or JPEG picture',
  arguments: ['MODEL', 'IMAGE'],
  description: `Prints the digit that the network in MODEL (any file fcnet eval reads) sees in IMAGE, a PNG (any size, colour type and bit depth) or a JPEG, and the ten probabilities (the softmax of the network's outputs). The picture is first made to look like MNIST: grey (ITU-R BT.601 luma; transparency composited over a white page, or over black when what is drawn is light), inverted when it is dark ink on a light background, centred on a square and scaled to 28×28 by area averaging. A picture with no ink (blank, or one colour) is refused (exit 1) rather than given a digit.`,
  options,
  run: predictRun,
};

/** `fcnet predict ARGV`, for tests and scripts: throws what `fcnet predict` would report. */
export function predictCommand(argv: string[]): Promise<void> {
  return execute([predictSpec], ['predict', ...argv]);
}
