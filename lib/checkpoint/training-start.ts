// Training that starts from a file someone already has: its weights, and Adam's moments and step count when it
// holds torch.optim.Adam's state that fits them (PyTorch's general checkpoint). Not PyTorch's exact continuation:
// fcnet's batches come in another order, so the run goes on from the same place along a different path.

import { Adam } from '../adam';
import type { BackendChoice } from '../backends';
import { checkKnownOptions, checkNumber } from '../check';
import { MLP } from '../model';
import { readModelWeights, type Activation, type ModelWeights } from './model-weights';

export interface TrainingStartOptions {
  backend?: BackendChoice;
  /** Adam's learning rate; default: the file's, when it holds Adam's state, else 0.001. */
  lr?: number;
  activation?: Activation;
  /** Name the layers fc1, fc2, ... (the reference program's names) instead of keeping the file's. Default false. */
  standardNames?: boolean;
}

export interface TrainingStart {
  model: MLP;
  optimizer: Adam;
  weights: ModelWeights;
  /** One sentence on what was taken from the file, for the user. */
  summary: string;
}

/**
 * A model and an Adam optimizer initialised from `path` (any file readModelWeights reads), the model keeping the
 * file's layer names so that its weights save under them (fc1, fc2, ... with `standardNames`). Adam's moments and step come from the file when it
 * holds torch.optim.Adam's state for exactly these parameters; otherwise Adam starts fresh and `weights.notes`
 * says why.
 */
export function loadTrainingStart(path: string, options: TrainingStartOptions = {}): TrainingStart {
  checkKnownOptions('loadTrainingStart', options, ['backend', 'lr', 'activation', 'standardNames']);
  const weights = readModelWeights(path, options.activation === undefined ? {} : { activation: options.activation });
  const model = new MLP({ sizes: weights.sizes, backend: options.backend ?? 'auto', ...(!options.standardNames && { layerNames: weights.layerNames }) });
  // Parameters by position: the file's names, or fc1.weight, fc1.bias, ... in the same order.
  const values = Object.values(weights.parameters);
  model.loadStateDict(Object.fromEntries(model.layout.map((p, i) => [p.name, values[i]])));
  const optimizer = new Adam(model, options.lr === undefined ? {} : { lr: options.lr });
  let summary: string;
  if (weights.adam) {
    optimizer.loadStateDict(weights.adam);
    if (options.lr !== undefined) optimizer.hyper.lr = checkNumber('lr', options.lr, 0, 1e3, true);
    summary = `its weights and Adam's moments at step ${optimizer.step} (not PyTorch's exact continuation: the batches come in another order)`;
  } else {
    summary = "its weights; Adam's moments start at zero";
  }
  return { model, optimizer, weights, summary };
}
