// `fcnet predict MODEL IMAGE`: the digit a saved network sees in a PNG or JPEG picture, and how sure it is.
import { describeWeights, readModelWeights } from '../checkpoint';
import { MIN_INK_CONTRAST, MNIST_SIDE, toMnistInput } from '../image/mnist-input';
import { readImageFile } from '../image/read-image';
import { MLP } from '../model';
import { activationFlag, backendFlag, parseFlags, UsageError, type FlagSpec } from './args';

export const predictUsage = `Usage: fcnet predict MODEL IMAGE [options]

Prints the digit that the network in MODEL (any file fcnet eval reads) sees in IMAGE, a PNG (any
size, colour type and bit depth) or a JPEG, and the ten probabilities (the softmax of the network's
outputs). The picture is first made to look like MNIST: grey (ITU-R BT.601 luma; transparency
composited over a white page, or over black when what is drawn is light), inverted when it is dark
ink on a light background, centred on a square and scaled to 28×28 by area averaging. A picture with
no ink (blank, or one colour) is refused (exit 1) rather than given a digit.

Options:
  --json           print one line of JSON instead: {"digit":7,"probabilities":[...],"inverted":false}
  --backend NAME   auto | cpu | js | cuda (default auto); --device is the same
  --activation F   the activation between layers, which a state_dict does not record (default relu)
  --help           this text`;

const flags: FlagSpec = {
  json: { type: 'boolean' },
  backend: { type: 'string' },
  device: { type: 'string' },
  activation: { type: 'string' },
  help: { type: 'boolean' },
};

/** Probabilities from logits, in double precision, shifted by the largest so exp never overflows. */
export function softmax(logits: ArrayLike<number>): number[] {
  const largest = Math.max(...Array.from(logits));
  const exps = Array.from(logits, (z) => Math.exp(z - largest));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export async function predictCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, flags, predictUsage);
  if (values.help) {
    console.log(predictUsage);
    return;
  }
  if (positionals.length !== 2) {
    const problem = positionals.length < 2 ? `expected MODEL and IMAGE but received ${positionals.length} argument${positionals.length === 1 ? '' : 's'}` : `unexpected argument '${positionals[2]}'`;
    throw new UsageError(`${problem}\n\n${predictUsage}`);
  }
  const [modelFile, imageFile] = positionals;
  const backend = backendFlag(values);
  const activation = activationFlag(values);
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
  if (values.json) {
    console.log(JSON.stringify({ digit, probabilities, inverted }));
    return;
  }
  console.error(`fcnet: ${modelFile}: ${describeWeights(weights)}`);
  for (const note of weights.notes) console.error(`fcnet: ${modelFile}: ${note}`);
  console.log(`Predicted digit: ${digit} (probability ${probabilities[digit].toFixed(4)})`);
  probabilities.forEach((p, d) => console.log(`  ${d}: ${p.toFixed(4)}`));
  if (inverted) console.error('fcnet: the picture was dark on light, so it was inverted to look like MNIST (white on black)');
}
