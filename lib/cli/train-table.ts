// `fcnet train --data table.csv --target COLUMN` (or --data X.npy --target y.npy): training on a user's table.
// The class count and the loss come from the data (--task), the held-out rows from --validation (seeded,
// stratified), the scaler from the training rows only (--standardize); the model file records the classes,
// the column names and the scaler, so `fcnet eval` and `fcnet predict` take raw rows, columns by name.
import { statSync } from 'node:fs';
import { Adam } from '../adam';
import { backends } from '../backends';
import { loadTrainingCheckpoint, saveMLP, saveTrainingCheckpoint, type TrainingSettings } from '../checkpoint';
import { readCsvDataset, tasks, type Task } from '../data/csv';
import type { FeatureDataset } from '../data/dataset';
import { readNpyDataset } from '../data/npy';
import { isNpyFileDataset, openNpyFileDataset, type NpyFileDataset } from '../data/npy-file';
import { splitDataset } from '../data/split';
import { fitStandardization } from '../data/standardize';
import { tableFingerprint } from '../data/fingerprint';
import { MLP } from '../model';
import type { LossName } from '../network';
import { AdamW, optimizerKind, SGD, type Optimizer } from '../optimizers';
import { fit, evaluate, type EpochInfo, type FitResult } from '../train';
import type { EpochAccuracy, LoggedLoss } from '../plots/specs';
import { writeTablePlots } from '../plots/write';
import type { LrSchedule } from '../schedules';
import { integer, listOf, numberAbove, oneOf, text, UsageError, type OptionSpec, type ValueParser } from './args';
import type { CommandContext, CommandInput } from './command';
import { createReporter, reporterMode } from './events';
import { definedOnly } from './resume-checks';
import { resumedOptimizer, resumedOptions, runEnded } from './table-resume';
import { saveAsItTrains } from './run-saving';
import type { RunPlan } from './train';

const fraction: ValueParser<number> = (value, flag) => {
  const f = value.trim() === value && value !== '' ? Number(value) : NaN;
  if (!(f > 0 && f < 1)) throw new UsageError(`Expected number above 0 and below 1 for ${flag} but received '${value}'`);
  return f;
};
const nonNegative: ValueParser<number> = (value, flag) => {
  const x = value.trim() === value && value !== '' ? Number(value) : NaN;
  if (!(x >= 0 && x <= 1e3)) throw new UsageError(`Expected number from 0 to 1000 for ${flag} but received '${value}'`);
  return x;
};

const positive: ValueParser<number> = (value, flag) => {
  const x = value.trim() === value && value !== '' ? Number(value) : NaN;
  if (!(x > 0 && x <= 1e30)) throw new UsageError(`Expected number above 0 for ${flag} but received '${value}'`);
  return x;
};

/** --lr-schedule: cosine | step:N[:GAMMA] | plateau[:PATIENCE[:FACTOR]], checked here and made into an LrSchedule at the run. */
const scheduleSpec: ValueParser<string[]> = (value, flag) => {
  const parts = value.split(':');
  const numbers = parts.slice(1).map(Number);
  const ok = (parts[0] === 'cosine' && parts.length === 1)
    || (parts[0] === 'step' && parts.length >= 2 && parts.length <= 3 && Number.isInteger(numbers[0]) && numbers[0] >= 1 && (parts.length === 2 || (numbers[1] > 0 && numbers[1] <= 1)))
    || (parts[0] === 'plateau' && parts.length <= 3 && (parts.length < 2 || (Number.isInteger(numbers[0]) && numbers[0] >= 0)) && (parts.length < 3 || (numbers[1] > 0 && numbers[1] < 1)));
  if (!ok) throw new UsageError(`Expected cosine, step:N[:GAMMA] or plateau[:PATIENCE[:FACTOR]] for ${flag} but received '${value}'`);
  return parts;
};

function lrSchedule(parts: string[], epochs: number, validation: boolean): LrSchedule {
  if (parts[0] === 'cosine') return { kind: 'cosine', tMax: epochs };
  if (parts[0] === 'step') return { kind: 'step', stepSize: Number(parts[1]), ...(parts[2] !== undefined && { gamma: Number(parts[2]) }) };
  return {
    kind: 'plateau', monitor: validation ? 'val_loss' : 'loss',
    ...(parts[1] !== undefined && { patience: Number(parts[1]) }), ...(parts[2] !== undefined && { factor: Number(parts[2]) }),
  };
}

/** The options only a table's run reads; `fcnet train --help` lists them with the others. */
export const tableOptions: OptionSpec[] = [
  { flags: '--target <names>', description: 'with a .csv: the target column(s), comma-separated; with a features .npy: the targets .npy', parse: text },
  { flags: '--task <name>', description: `${tasks.join(', ')} (default: from the target values, as scikit-learn's type_of_target)`, parse: oneOf(tasks) },
  { flags: '--ignore <columns>', description: 'columns that are not features (IDs), comma-separated', parse: listOf(text, 'column names, comma-separated') },
  { flags: '--standardize', description: "fit each feature's mean and std on the training rows and save them with the model" },
  { flags: '--optimizer <name>', description: 'adam, adamw or sgd (torch.optim semantics)', parse: oneOf(['adam', 'adamw', 'sgd'] as const), defaultText: 'adam' },
  { flags: '--momentum <x>', description: "SGD's momentum", parse: nonNegative, defaultText: '0' },
  { flags: '--weight-decay <x>', description: 'weight decay (L2 for adam and sgd, decoupled for adamw)', parse: nonNegative },
  { flags: '--validation <fraction>', description: 'hold out this fraction of the rows (seeded, stratified for classes) and report on them each epoch', parse: fraction },
  { flags: '--lr-schedule <spec>', description: "the lr per epoch (torch.optim.lr_scheduler): cosine (to 0 over --epochs), step:N[:GAMMA] (x GAMMA, default 0.1, every N epochs), plateau[:PATIENCE[:FACTOR]] (on the validation loss, else the training loss)", parse: scheduleSpec },
  { flags: '--clip-grad-norm <x>', description: "scale the gradients to a global L2 norm of at most X (torch.nn.utils.clip_grad_norm_)", parse: positive },
  { flags: '--from-disk', description: 'with --data X.npy: train reading each batch from the file (for a file larger than memory); not with --validation or --standardize' },
  { flags: '--early-stop <patience>', description: 'stop after this many epochs without a better validation loss and keep the best weights', parse: integer(1) },
];

/** Whether the run trains on a table (a .csv or .npy file, or --target given) rather than IDX files. */
export function isTableData(o: Record<string, unknown>): boolean {
  const data = o.data as string | undefined;
  if (o.target !== undefined) return true;
  if (data === undefined) return false;
  if (/\.(csv|npy)$/i.test(data)) return true;
  try {
    return statSync(data).isFile();
  } catch {
    return false;
  }
}

/** --from-disk: features stay in the .npy on disk (openNpyFileDataset), read batch by batch by fit. */
function diskTable(o: Record<string, unknown>): NpyFileDataset & { task: Task } {
  const target = o.target as string | undefined;
  if (target === undefined) throw new UsageError(`--data ${String(o.data)}: .npy features need --target TARGETS.npy`);
  const data = openNpyFileDataset(o.data as string, target, o.task as Task | undefined);
  return { ...data, task: (o.task as Task | undefined) ?? (data.targets instanceof Int32Array ? 'classify' : 'regress') };
}

function isPixels(data: FeatureDataset | NpyFileDataset): boolean {
  return isNpyFileDataset(data) ? data.descr === '|u1' || data.descr === '<u1' : data.features instanceof Uint8Array;
}

/** The loss a task trains with (--loss may choose l1 instead of mse for regress). */
function lossFor(task: Task, asked: LossName | undefined): LossName {
  const natural: LossName = task === 'classify' ? 'cross_entropy' : task === 'multilabel' ? 'bce_with_logits' : 'mse';
  if (asked === undefined) return natural;
  const fits = task === 'regress' ? asked === 'mse' || asked === 'l1' : asked === natural;
  if (!fits) throw new UsageError(`--loss ${asked} does not fit task '${task}' (${task === 'regress' ? 'mse or l1' : natural})`);
  return asked;
}

/** The table the options name: a CSV with its target columns, or two .npy files; `names`: a resumed run's columns and classes. */
async function readTable(o: Record<string, unknown>, names: { features?: readonly string[]; classNames?: readonly string[] } = {}): Promise<FeatureDataset & { task: Task }> {
  const data = o.data as string | undefined;
  const target = o.target as string | undefined;
  if (data === undefined) throw new UsageError('--target needs --data FILE (a .csv table, or the features .npy)');
  if (target === undefined) throw new UsageError(`--data ${data}: a table needs --target (the column to predict; for .npy features, the targets .npy)`);
  if (/\.npy$/i.test(data)) {
    const dataset = readNpyDataset(data, target, o.task as Task | undefined);
    return { ...dataset, task: (o.task as Task | undefined) ?? (dataset.targets instanceof Int32Array ? 'classify' : 'regress') };
  }
  const dataset = await readCsvDataset(data, {
    target: target.split(','), ignore: (o.ignore as string[] | undefined) ?? [], task: o.task as Task | undefined,
    ...(names.features && { features: names.features }), ...(names.classNames && { classNames: names.classNames }),
  });
  return { ...dataset, task: dataset.task! };
}

function makeOptimizer(model: MLP, o: Record<string, unknown>): Optimizer {
  const lr = o.lr as number;
  const weightDecay = o.weightDecay as number | undefined;
  const kind = (o.optimizer as string | undefined) ?? 'adam';
  if (o.momentum !== undefined && kind !== 'sgd') throw new UsageError(`--momentum is SGD's: add --optimizer sgd (got --optimizer ${kind})`);
  if (kind === 'sgd') return new SGD(model, { lr, momentum: (o.momentum as number | undefined) ?? 0, ...(weightDecay !== undefined && { weightDecay }) });
  if (kind === 'adamw') return new AdamW(model, { lr, ...(weightDecay !== undefined && { weightDecay }) });
  return new Adam(model, { lr, ...(weightDecay !== undefined && { weightDecay }) });
}

/**
 * One thread for a small step: a table's network (64-64-10, batches of 32: 0.15 M multiply-adds a step) spends
 * more on waking a team than on the arithmetic (measured on a shared 2-core machine: 0.065 ms a step on one
 * thread, 0.9 ms on two). MNIST's 784-500-10 in batches of 100 (40 M) keeps one thread per core.
 */
function threadsFor(sizes: readonly number[], batch: number): number | undefined {
  let weights = 0;
  for (let l = 0; l + 1 < sizes.length; l++) weights += sizes[l] * sizes[l + 1];
  return weights * batch < 1 << 22 ? 1 : undefined;
}

export async function trainTable(input: CommandInput, context: CommandContext, plan: RunPlan): Promise<void> {
  const resumeFile = plan.resumeFile;
  const resumed = resumeFile === undefined ? undefined : loadTrainingCheckpoint(resumeFile);
  if (resumed && !resumed.settings.table) throw new UsageError(`${resumeFile} is an IDX run's checkpoint: resume it with --data naming the IDX folder`);
  const o = resumed ? resumedOptions(input, resumed, resumeFile!) : input.options;
  if (o.earlyStop !== undefined && o.validation === undefined) throw new UsageError('--early-stop watches the validation loss: add --validation FRACTION');
  if (o.fromDisk === true) {
    if (!/\.npy$/i.test(String(o.data))) throw new UsageError('--from-disk reads a features .npy batch by batch: --data X.npy --target y.npy');
    if (o.validation !== undefined || o.standardize === true) throw new UsageError('--from-disk trains on every row as it lies on disk: --validation and --standardize need the rows in memory');
  }
  // A resumed run reads the columns and classes its network was made for, by name.
  const names = { ...(resumed?.network.featureNames && { features: resumed.network.featureNames }), ...(resumed?.network.classNames && { classNames: resumed.network.classNames }) };
  const all: (FeatureDataset | NpyFileDataset) & { task: Task } = o.fromDisk === true ? diskTable(o) : await readTable(o, names);
  // On disk, the features are not read whole: their file's rows, columns and the targets make the fingerprint.
  const fingerprint = isNpyFileDataset(all) ? tableFingerprint(Uint32Array.of(all.d), all.targets) : tableFingerprint(all.features, all.targets);
  const table = resumed?.settings.table;
  if (table && (all.n !== table.rows || fingerprint !== table.fingerprint)) {
    throw new Error(`${all.source}: not the table ${resumeFile} was trained on (it has ${all.n} rows with fingerprint ${fingerprint}; the run's had ${table.rows} rows with ${table.fingerprint}): resume with that table as it was`);
  }
  const loss = lossFor(all.task, o.loss as LossName | undefined);
  const seed = o.seed as number;
  const inMemory = isNpyFileDataset(all) ? null : all;
  const parts = o.validation === undefined || !inMemory ? null : splitDataset(inMemory, o.validation as number, { seed });
  const train = parts?.train ?? all;
  // A resumed run's scaler is its network's (saved in the checkpoint); a new run fits it on the training rows.
  const scaler = !resumed && o.standardize && inMemory ? fitStandardization(parts?.train ?? inMemory) : null;
  // Classes: as many as the names (CSV), or the largest index + 1 (.npy class indices); values: K columns.
  let outputs = all.classNames ? all.classNames.length : all.k;
  if (!all.classNames && all.targets instanceof Int32Array) {
    outputs = 2;
    for (const y of all.targets) if (y + 1 > outputs) outputs = y + 1;
  }
  if (all.classNames && outputs < 2) throw new Error(`${all.source}: the target has one class ('${all.classNames[0]}'); classifying needs at least 2`);
  const sizes = [all.d, ...(o.hidden as number[]), outputs];
  if (resumed && sizes.join('-') !== resumed.sizes.join('-')) throw new Error(`${resumeFile} holds a ${resumed.sizes.join('-')} network but ${all.source} needs ${sizes.join('-')}`);
  const model = new MLP({
    sizes, seed, backend: plan.backend, threads: threadsFor(sizes, Math.min(o.batchSize as number, train.n)), input: isPixels(all) ? 'pixels' : 'features', loss,
    ...(resumed ? definedOnly(resumed.network) : {
      ...(o.activation !== undefined && { activation: o.activation as never }),
      ...(o.dropout !== undefined && { dropout: o.dropout as number }),
      ...(scaler && { inputMean: scaler.mean, inputStd: scaler.std }),
      ...(all.classNames && { classNames: all.classNames }),
      ...(all.featureNames && { featureNames: all.featureNames }),
      ...(all.targetNames && { targetNames: all.targetNames }),
    }),
  });
  if (resumed) model.loadStateDict(resumed.parameters);
  const optimizer = resumed ? resumedOptimizer(model, resumed) : makeOptimizer(model, o);
  const epochs = o.epochs as number;
  const batchSize = Math.min(o.batchSize as number, train.n);
  const settings: TrainingSettings = {
    epochs, batchSize: o.batchSize as number, seed, lr: o.lr as number, hidden: o.hidden as number[],
    table: {
      task: all.task, target: o.target as string, ignore: (o.ignore as string[] | undefined) ?? [], validation: (o.validation as number | undefined) ?? null,
      standardize: o.standardize === true, earlyStop: (o.earlyStop as number | undefined) ?? null, lrSchedule: (o.lrSchedule as string[] | undefined)?.join(':') ?? null,
      clipGradNorm: (o.clipGradNorm as number | undefined) ?? null, fromDisk: o.fromDisk === true, rows: all.n, fingerprint,
    },
  };
  const ended = resumed !== undefined && runEnded(resumed, epochs, o.earlyStop as number | undefined);
  const reporter = createReporter(reporterMode({ json: o.json === true, plain: o.plain === true }));
  try {
    const report = backends().find((b) => b.name === model.backend);
    reporter.note(`fcnet: training ${model.sizes.join('-')} (${all.task}, ${loss}) on ${model.backend} (${report?.detail.split(';')[0]}): ${train.n} training rows${parts ? `, ${parts.validation.n} held out` : ''}`);
    const stepsPerEpoch = Math.ceil(train.n / batchSize);
    if (resumed) {
      const { epoch, step } = resumed.position;
      reporter.note(ended ? `fcnet: ${resumeFile} is the end of its run (${epoch < epochs ? `stopped early after epoch ${epoch}` : `${epochs} epochs`}); nothing left to train`
        : `fcnet: resuming ${resumeFile} at epoch ${epoch + 1}, step ${step + 1} of ${stepsPerEpoch}`);
    }
    reporter.emit({
      event: 'start', sizes: [...model.sizes], backend: model.backend, epochs, batchSize, lr: settings.lr, seed, stepsPerEpoch, trainImages: train.n, testImages: parts?.validation.n ?? 0, samples: 'rows',
      ...(resumed && { resumeAt: { epoch: resumed.position.epoch + 1, step: resumed.position.step + 1 } }),
    });
    const losses: LoggedLoss[] = [];
    const accuracies: EpochAccuracy[] = [];
    let samples = 0;
    let lastEpoch: EpochInfo | undefined;
    const saving = saveAsItTrains({
      checkpointFile: plan.checkpointFile, checkpointEvery: plan.checkpointEvery, output: plan.output, epochs, stepsPerEpoch,
      write: (position, runState) => saveTrainingCheckpoint(plan.checkpointFile!, model, optimizer, position, settings, runState),
    }, reporter, context.interrupt);
    const started = performance.now();
    let result: FitResult;
    try {
      result = await fit(model, optimizer, train, {
        epochs: ended ? resumed.position.epoch : epochs, batchSize, seed,
        ...(resumed && { resume: resumed.position, ...(resumed.runState && { resumeState: resumed.runState }) }),
        ...(parts && { validationData: parts.validation }),
        ...(o.earlyStop !== undefined && { earlyStopping: { patience: o.earlyStop as number } }),
        ...(o.lrSchedule !== undefined && { lrSchedule: lrSchedule(o.lrSchedule as string[], epochs, parts !== null) }),
        ...(o.clipGradNorm !== undefined && { clipGradNorm: o.clipGradNorm as number }),
        onStep: ({ epoch, step, loss: l, batchSize: B, ...place }) => {
          samples += B;
          reporter.progress({ epoch, step, loss: l, batchSize: B });
          if ((step + 1) % plan.logEvery === 0) {
            reporter.emit({ event: 'step', epoch: epoch + 1, epochs, step: step + 1, steps: stepsPerEpoch, loss: l });
            losses.push({ step: epoch * stepsPerEpoch + step + 1, epoch: epoch + 1, loss: l });
          }
          saving.afterStep(epoch, step, place);
        },
        onEpoch: (info) => {
          const { epoch, seconds, meanLoss, lr, validation } = info;
          const v = validation && { loss: validation.loss, ...(Number.isFinite(validation.accuracy) && { accuracy: validation.accuracy }), ...(Number.isFinite(validation.mse) && { mse: validation.mse, mae: validation.mae }) };
          if (v?.accuracy !== undefined) accuracies.push({ epoch: epoch + 1, accuracy: v.accuracy });
          reporter.emit({ event: 'epoch', epoch: epoch + 1, epochs, seconds, meanLoss, samplesPerSecond: samples / seconds, lr, ...(v && { validation: v }) });
          samples = 0;
          lastEpoch = info;
          saving.afterEpoch(info);
        },
      });
      if (lastEpoch) saving.afterRun(lastEpoch); // an early stop between two --checkpoint-every saves
    } finally {
      saving.dispose();
    }
    if (result.stoppedEpoch !== null) reporter.note(`fcnet: early stop after epoch ${result.stoppedEpoch + 1}; kept the weights of epoch ${result.bestEpoch! + 1}`);
    const rows = parts ? 'validation' : 'training';
    const e = evaluate(model, parts?.validation ?? train, batchSize);
    saveMLP(plan.output, model);
    let plots: string[] | undefined;
    if (plan.plotsDir !== undefined) {
      const description = `${model.sizes.join('-')}, ${{ adam: 'Adam', adamw: 'AdamW', sgd: 'SGD' }[optimizerKind(optimizer)]} lr ${settings.lr}, batches of ${batchSize}: the loss printed every ${plan.logEvery} steps`;
      const held = e.confusion ? { counts: e.confusion, classNames: model.classNames ?? e.perClass!.map((c) => c.name), rows: `${e.n} ${rows} rows` } : null;
      plots = await writeTablePlots(plan.plotsDir, { losses, accuracies, epochs, stepsPerEpoch, testImages: parts?.validation.n ?? 0, description, lossName: loss }, held);
    }
    reporter.emit({
      event: 'end', accuracy: e.accuracy, correct: e.correct, n: e.n, loss: e.loss, output: plan.output, seconds: (performance.now() - started) / 1000, rows,
      ...(Number.isFinite(e.mse) && loss !== 'bce_with_logits' && { mse: e.mse, mae: e.mae }), ...(plots && { plots }),
    });
    const recorded = [model.classNames && 'the class names', model.featureNames && 'the column names', model.spec.inputMean && 'the scaler'].filter(Boolean);
    reporter.note(`fcnet: saved the weights${recorded.length ? `, ${recorded.join(', ')}` : ''} to ${plan.output}`);
    if (plots) reporter.note(`fcnet: drew ${plots.join(', ')}`);
  } finally {
    reporter.close();
  }
}
