// Training checkpoints: what a run needs to continue exactly where it stopped, in one safetensors file.
// The parameters keep their PyTorch names, so the file still loads as weights; Adam's moments sit beside
// them as adam.exp_avg.<name> and adam.exp_avg_sq.<name>; everything else is JSON in __metadata__.
// Reading checks every field, so a resumed run never starts from a half-understood file.

import { Adam, adamMomentTensors, type AdamStateDict } from '../adam';
import { checkInteger, checkNumber, invalidArgument } from '../check';
import { MLP, parameterLayout } from '../model';
import type { RngState } from '../rng';
import type { StateDict } from '../tensor';
import type { TrainingPosition } from '../train';
import { fcnetVersion } from '../version';
import { clipText, quote, showJson } from '../io/bounded-text';
import { checkExpectedShapes, formatShape, type ExpectedShapes } from './expected-shapes';
import { fcnetMetadataOf, readFcnetMetadata, type NetworkOptions } from './fcnet-metadata';
import { OPTIMIZER_KEY, optimizerCheckpointParts, readOptimizerEntry, type OptimizerCheckpoint } from './optimizer-checkpoint';
import { SGD, AdamW, type Optimizer } from '../optimizers';
import type { RunState } from '../schedules';
import { readRunStateEntry, RUN_STATE_KEY, runStateParts } from './run-state';
import { readSafetensorsFile, writeSafetensorsFile, type SafetensorsContents } from './safetensors';
import { readTableRunEntry, tableRunEntry, type TableRunSettings } from './table-run';

/** Raised when the layout changes in a way that older readers would misread. */
export const TRAINING_CHECKPOINT_VERSION = 1;

/** The __metadata__ keys. Values are JSON text, except `format`, which safetensors tools expect as plain 'pt'. */
export const TRAINING_METADATA_KEYS = {
  version: 'fcnet.training_checkpoint',
  fcnetVersion: 'fcnet.version',
  sizes: 'fcnet.sizes',
  adam: 'fcnet.adam',
  position: 'fcnet.position',
  settings: 'fcnet.settings',
} as const;
const KEYS = TRAINING_METADATA_KEYS;

/** The run's settings: a resumed run must use the same ones to retrace the uninterrupted run. */
export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  seed: number;
  lr: number;
  /** Hidden layer widths: the model's sizes without the first and the last. */
  hidden: number[];
  /** A table's run (`fcnet train --data table.csv`): what it trained on and how; absent for other runs. */
  table?: TableRunSettings;
}

export interface TrainingCheckpoint {
  /** Layer widths, input first. */
  sizes: number[];
  /** For MLP.loadStateDict. */
  parameters: StateDict;
  /** For Adam.loadStateDict: torch.optim.Adam's shape, with the step count and hyper-parameters; null for SGD and AdamW. */
  adam: AdamStateDict | null;
  /** SGD's or AdamW's state (restoreOptimizer makes the optimizer); null for Adam. */
  optimizer: OptimizerCheckpoint | null;
  /** For fit's `resume`. */
  position: TrainingPosition;
  settings: TrainingSettings;
  /** The fcnet that wrote the file. */
  fcnetVersion: string;
  /** The network beyond its Linear layers (activation, loss, ...), for MLP's options; {} is ReLU and cross-entropy. */
  network: NetworkOptions;
  /** The schedule's and early stopping's state and the best weights (fit's resumeState), or null when not saved. */
  runState: RunState | null;
}

const MAX_UINT32 = 0xffffffff;
const MAX_BETA = 0.999999999; // Adam's own limit

/** The tensors a training checkpoint of these sizes holds, with their shapes. */
function expectedTensors(sizes: readonly number[], adam = true): ExpectedShapes {
  const layout = parameterLayout(sizes);
  const expected: ExpectedShapes = {};
  for (const p of layout) expected[p.name] = p.shape;
  if (!adam) return expected;
  for (const p of layout) expected[`adam.exp_avg.${p.name}`] = p.shape;
  for (const p of layout) expected[`adam.exp_avg_sq.${p.name}`] = p.shape;
  return expected;
}

// ---------------------------------------------------------------------------------------------- saving

function checkRngState(name: string, value: unknown): RngState {
  const ok = Array.isArray(value) && value.length === 4 && value.every((x) => Number.isInteger(x) && x >= 0 && x <= MAX_UINT32) && value.some((x) => x !== 0);
  if (!ok) throw invalidArgument('4 unsigned 32-bit integers (not all 0)', name, value);
  return value as RngState;
}

function checkSettings(settings: TrainingSettings, model: MLP): void {
  if (typeof settings !== 'object' || settings === null) throw invalidArgument('object', 'settings', settings);
  checkInteger('settings.epochs', settings.epochs, 0, 1e6);
  checkInteger('settings.batchSize', settings.batchSize, 1);
  checkInteger('settings.seed', settings.seed, 0, MAX_UINT32);
  checkNumber('settings.lr', settings.lr, 0, 1e3, true);
  const hidden = model.sizes.slice(1, -1);
  if (!Array.isArray(settings.hidden) || settings.hidden.join(',') !== hidden.join(',')) {
    throw invalidArgument(`the model's hidden widths [${hidden.join(', ')}]`, 'settings.hidden', settings.hidden);
  }
  if (settings.table !== undefined) {
    readTableRunEntry(tableRunEntry(settings.table), (field, expected, value) => invalidArgument(expected, `settings.${field}`, value));
  }
}

/**
 * Writes a training checkpoint, atomically: the model's parameters, Adam's moments, step and
 * hyper-parameters, where to resume (`position`, e.g. a StepInfo's or EpochInfo's) and the run's settings.
 */
export function saveTrainingCheckpoint(path: string, model: MLP, optimizer: Optimizer, position: TrainingPosition, settings: TrainingSettings, runState?: RunState): void {
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  if (!(model instanceof MLP)) throw invalidArgument('MLP', 'model', model);
  if (!(optimizer instanceof Adam) && !(optimizer instanceof SGD) && !(optimizer instanceof AdamW)) throw invalidArgument('Adam, SGD or AdamW', 'optimizer', optimizer);
  if (optimizer.model !== model) throw new TypeError('saveTrainingCheckpoint: the optimizer was made for another model');
  checkSettings(settings, model);
  if (typeof position !== 'object' || position === null) throw invalidArgument('object', 'position', position);
  checkInteger('position.epoch', position.epoch, 0, settings.epochs);
  checkInteger('position.step', position.step, 0);
  checkRngState('position.rngState', position.rngState);

  const other = optimizer instanceof Adam ? null : optimizerCheckpointParts(optimizer);
  const run = runState === undefined ? null : runStateParts(model, runState);
  const h = optimizer.hyper as Adam['hyper'];
  const metadata: Record<string, string> = {
    format: 'pt',
    [KEYS.version]: JSON.stringify(TRAINING_CHECKPOINT_VERSION),
    [KEYS.fcnetVersion]: JSON.stringify(fcnetVersion()),
    [KEYS.sizes]: JSON.stringify(model.sizes),
    ...(other ? other.metadata : { [KEYS.adam]: JSON.stringify({ step: optimizer.step, lr: h.lr, betas: [h.beta1, h.beta2], eps: h.eps, weight_decay: h.weightDecay }) }),
    [KEYS.position]: JSON.stringify({ epoch: position.epoch, step: position.step, rng_state: [...position.rngState] }),
    [KEYS.settings]: JSON.stringify({
      epochs: settings.epochs,
      batch_size: settings.batchSize,
      seed: settings.seed,
      lr: settings.lr,
      hidden: [...settings.hidden],
      ...(settings.table && { table: tableRunEntry(settings.table) }),
    }),
    ...fcnetMetadataOf(model),
    ...run?.metadata,
  };
  // Under fc1, fc2, ... whatever the model's layer names (MLPOptions.layerNames): the layout the reader checks.
  const state = model.stateDict();
  const standard = parameterLayout(model.sizes);
  const tensors: StateDict = {};
  model.layout.forEach((p, i) => (tensors[standard[i].name] = state[p.name]));
  if (other) {
    Object.assign(tensors, other.tensors); // named after the standard layout already
  } else {
    const moments = adamMomentTensors(optimizer as Adam);
    model.layout.forEach((p, i) => {
      for (const moment of ['exp_avg', 'exp_avg_sq']) tensors[`adam.${moment}.${standard[i].name}`] = moments[`adam.${moment}.${p.name}`];
    });
  }
  Object.assign(tensors, run?.tensors);
  writeSafetensorsFile(path, tensors, metadata);
}

// ---------------------------------------------------------------------------------------------- loading

type Fail = (problem: string) => Error;

/** Reads the JSON values of __metadata__, with errors that name the key and the field. */
class MetadataReader {
  constructor(private readonly metadata: Record<string, string>, private readonly fail: Fail) {}

  json(key: string): unknown {
    const raw = this.metadata[key];
    if (raw === undefined) throw this.fail(`__metadata__ has no '${key}'`);
    try {
      return JSON.parse(raw);
    } catch {
      throw this.fail(`__metadata__ '${key}' is not valid JSON: ${clipText(raw)}`);
    }
  }

  /** An object with exactly these fields. */
  object(key: string, fields: readonly string[]): Record<string, unknown> {
    const value = this.json(key);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.fail(`__metadata__ '${key}' must be a JSON object with ${fields.join(', ')} but is ${showJson(value)}`);
    }
    const record = value as Record<string, unknown>;
    const missing = fields.filter((f) => !Object.hasOwn(record, f));
    if (missing.length) throw this.fail(`__metadata__ '${key}' has no '${missing[0]}'`);
    const unknown = Object.keys(record).filter((f) => !fields.includes(f));
    if (unknown.length) throw this.fail(`__metadata__ '${key}' has an unknown field ${quote(unknown[0])} (expected ${fields.join(', ')})`);
    return record;
  }

  problem(key: string, field: string | null, expected: string, value: unknown): Error {
    const where = field === null ? `'${key}'` : `'${key}' field '${field}'`;
    return this.fail(`__metadata__ ${where} must be ${expected} but is ${showJson(value)}`);
  }

  integer(key: string, field: string | null, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw this.problem(key, field, `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`, value);
    }
    return value;
  }

  number(key: string, field: string, value: unknown, min: number, max: number, exclusiveMin = false): number {
    const ok = typeof value === 'number' && Number.isFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max;
    if (!ok) throw this.problem(key, field, `a number ${exclusiveMin ? 'above' : 'from'} ${min} ${exclusiveMin ? 'up ' : ''}to ${max}`, value);
    return value;
  }

  integers(key: string, field: string | null, value: unknown, count: number | null, min: number, max: number): number[] {
    const ok = Array.isArray(value) && (count === null || value.length === count) &&
      value.every((x) => Number.isInteger(x) && x >= min && x <= max);
    if (!ok) throw this.problem(key, field, `an array of ${count ?? 'some'} integers from ${min} to ${max}`, value);
    return value as number[];
  }
}

function readVersion(meta: MetadataReader, metadata: Record<string, string>, fail: Fail): void {
  if (metadata[KEYS.version] === undefined) {
    throw fail(`not a training checkpoint: its __metadata__ has no '${KEYS.version}' (a file of weights alone can be evaluated but not resumed)`);
  }
  const version = meta.json(KEYS.version);
  if (Number.isInteger(version) && (version as number) > TRAINING_CHECKPOINT_VERSION) {
    throw fail(`training checkpoint format ${version} is newer than this fcnet (${fcnetVersion()}) reads (${TRAINING_CHECKPOINT_VERSION}); upgrade fcnet to resume it`);
  }
  if (version !== TRAINING_CHECKPOINT_VERSION) throw meta.problem(KEYS.version, null, String(TRAINING_CHECKPOINT_VERSION), version);
}

function readAdamMetadata(meta: MetadataReader) {
  const k = KEYS.adam;
  const adam = meta.object(k, ['step', 'lr', 'betas', 'eps', 'weight_decay']);
  const betas = adam.betas;
  if (!Array.isArray(betas) || betas.length !== 2) throw meta.problem(k, 'betas', '[beta1, beta2]', betas);
  return {
    step: meta.integer(k, 'step', adam.step, 0, Number.MAX_SAFE_INTEGER - 1), // Adam's next step must still be exact
    lr: meta.number(k, 'lr', adam.lr, 0, 1e3, true),
    betas: [meta.number(k, 'betas', betas[0], 0, MAX_BETA), meta.number(k, 'betas', betas[1], 0, MAX_BETA)] as [number, number],
    eps: meta.number(k, 'eps', adam.eps, 0, 1, true), // as Adam's own check: eps 0 divides by √v = 0
    weightDecay: meta.number(k, 'weight_decay', adam.weight_decay, 0, 1e3),
  };
}

function readSettings(meta: MetadataReader): TrainingSettings {
  const k = KEYS.settings;
  const fields = ['epochs', 'batch_size', 'seed', 'lr', 'hidden'];
  const raw = meta.json(k);
  const table = typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'table'); // a table's run
  const s = meta.object(k, table ? [...fields, 'table'] : fields);
  return {
    epochs: meta.integer(k, 'epochs', s.epochs, 0, 1e6),
    batchSize: meta.integer(k, 'batch_size', s.batch_size, 1),
    seed: meta.integer(k, 'seed', s.seed, 0, MAX_UINT32),
    lr: meta.number(k, 'lr', s.lr, 0, 1e3, true),
    hidden: meta.integers(k, 'hidden', s.hidden, null, 1, 1 << 24),
    ...(table && { table: readTableRunEntry(s.table, (field, expected, value) => meta.problem(k, field, expected, value)) }),
  };
}

function readPosition(meta: MetadataReader, settings: TrainingSettings): TrainingPosition {
  const k = KEYS.position;
  const p = meta.object(k, ['epoch', 'step', 'rng_state']);
  const rngState = meta.integers(k, 'rng_state', p.rng_state, 4, 0, MAX_UINT32);
  if (rngState.every((x) => x === 0)) throw meta.problem(k, 'rng_state', 'not all 0', rngState);
  return { epoch: meta.integer(k, 'epoch', p.epoch, 0, settings.epochs), step: meta.integer(k, 'step', p.step, 0), rngState: rngState as RngState };
}

/** Values that no training run leaves behind: a non-finite number anywhere, a negative second moment. */
function checkValues(tensors: StateDict, fail: Fail): void {
  for (const [name, { data }] of Object.entries(tensors)) {
    const secondMoment = name.startsWith('adam.exp_avg_sq.');
    const bad = data.findIndex((x) => !Number.isFinite(x) || (secondMoment && x < 0));
    if (bad >= 0) throw fail(`tensor ${quote(name)} holds ${data[bad]} at index ${bad}`);
  }
}

/**
 * Reads and checks a training checkpoint that saveTrainingCheckpoint wrote. Every problem (a missing
 * tensor, a wrong shape, a bad metadata field) throws an Error that starts with the path and names it.
 */
export function loadTrainingCheckpoint(path: string): TrainingCheckpoint {
  if (typeof path !== 'string') throw invalidArgument('string', 'path', path);
  return trainingCheckpointFrom(readSafetensorsFile(path), path);
}

/** Whether safetensors metadata marks the file as a training checkpoint. */
export function isTrainingCheckpoint(metadata: Record<string, string>): boolean {
  return Object.hasOwn(metadata, KEYS.version);
}

/** A training checkpoint from a safetensors file's decoded contents; errors start with `source`. */
export function trainingCheckpointFrom({ tensors, metadata }: SafetensorsContents, source: string): TrainingCheckpoint {
  const fail: Fail = (problem) => new Error(`${source}: ${problem}`);
  const meta = new MetadataReader(metadata, fail);
  readVersion(meta, metadata, fail);

  const version = meta.json(KEYS.fcnetVersion);
  if (typeof version !== 'string') throw meta.problem(KEYS.fcnetVersion, null, 'a string', version);
  const sizes = meta.integers(KEYS.sizes, null, meta.json(KEYS.sizes), null, 1, 1 << 24);
  if (sizes.length < 2) throw meta.problem(KEYS.sizes, null, 'at least 2 layer sizes', sizes);
  // SGD and AdamW write 'fcnet.optimizer' instead of 'fcnet.adam' (lib/checkpoint/optimizer-checkpoint.ts).
  const other = metadata[OPTIMIZER_KEY] === undefined ? null : readOptimizerEntry(meta.json(OPTIMIZER_KEY), sizes, fail);
  if (other && metadata[KEYS.adam] !== undefined) throw fail(`__metadata__ has both '${KEYS.adam}' and '${OPTIMIZER_KEY}'`);
  const settings = readSettings(meta);
  if (settings.hidden.join(',') !== sizes.slice(1, -1).join(',')) {
    throw fail(`__metadata__ '${KEYS.settings}' field 'hidden' is ${showJson(settings.hidden)} but '${KEYS.sizes}' is ${showJson(sizes)}`);
  }
  const position = readPosition(meta, settings);

  const run = metadata[RUN_STATE_KEY] === undefined ? null : readRunStateEntry(meta.json(RUN_STATE_KEY), sizes, fail);
  checkExpectedShapes(Object.entries(tensors).map(([name, t]) => ({ name, shape: t.shape })), { ...expectedTensors(sizes, other === null), ...other?.expected, ...run?.expected }, fail);
  const runState = run ? run.build(tensors) : null;
  checkValues(tensors, fail);

  const layout = parameterLayout(sizes);
  const parameters: StateDict = {};
  for (const p of layout) parameters[p.name] = tensors[p.name];
  const { network } = readFcnetMetadata(metadata, source);
  if (other) {
    const buffers: StateDict = {};
    for (const name of Object.keys(other.expected)) buffers[name] = tensors[name];
    const negative = Object.keys(buffers).find((n) => n.startsWith('adamw.exp_avg_sq.') && buffers[n].data.some((x) => x < 0));
    if (negative) throw fail(`tensor '${negative}' holds a negative value`);
    return { sizes, parameters, adam: null, optimizer: { ...other.entry, buffers } as OptimizerCheckpoint, position, settings, fcnetVersion: version, network, runState };
  }
  const adam = readAdamMetadata(meta);
  if (adam.step === 0) {
    const moved = layout.find((p) => tensors[`adam.exp_avg.${p.name}`].data.some((x) => x !== 0) || tensors[`adam.exp_avg_sq.${p.name}`].data.some((x) => x !== 0));
    if (moved) throw fail(`Adam's step is 0 but the moments of '${moved.name}' are not all 0 (shape ${formatShape(moved.shape)})`);
  }
  const state: AdamStateDict['state'] = {};
  if (adam.step > 0) {
    layout.forEach((p, i) => {
      state[i] = { step: adam.step, exp_avg: tensors[`adam.exp_avg.${p.name}`].data, exp_avg_sq: tensors[`adam.exp_avg_sq.${p.name}`].data };
    });
  }
  const paramGroup = {
    lr: adam.lr,
    betas: adam.betas,
    eps: adam.eps,
    weight_decay: adam.weightDecay,
    amsgrad: false as const,
    maximize: false as const,
    params: layout.map((_, i) => i),
  };
  return { sizes, parameters, adam: { state, param_groups: [paramGroup] }, optimizer: null, position, settings, fcnetVersion: version, network, runState };
}
