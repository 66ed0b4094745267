// Resuming a table's run (`fcnet train --data table.csv --resume run.ckpt`): the options come from the checkpoint
// (flags given again may repeat them, not change them), the optimizer with its state, and whether the run had
// already ended (at its last epoch, or stopped early).
import { Adam } from '../adam';
import { restoreOptimizer, type TrainingCheckpoint } from '../checkpoint';
import type { MLP } from '../model';
import type { Activation } from '../network';
import type { Optimizer } from '../optimizers';
import type { CommandInput } from './command';
import { checkSameAsSaved, checkSameNetwork } from './resume-checks';

/** The optimizer a checkpoint saved, with its state: Adam's moments and step, or SGD's/AdamW's buffers. */
export function resumedOptimizer(model: MLP, saved: TrainingCheckpoint): Optimizer {
  if (saved.adam === null) return restoreOptimizer(model, saved.optimizer!);
  const adam = new Adam(model, { lr: saved.settings.lr });
  adam.loadStateDict(saved.adam);
  return adam;
}

/** The options of a table's run, as `fcnet train` parses them, that its checkpoint records. */
function savedOptions(saved: TrainingCheckpoint): Record<string, unknown> {
  const { settings: s, network } = saved;
  const t = s.table!;
  return {
    epochs: s.epochs, batchSize: s.batchSize, seed: s.seed, lr: s.lr, hidden: s.hidden,
    target: t.target, task: t.task, ignore: t.ignore, validation: t.validation, standardize: t.standardize, earlyStop: t.earlyStop,
    lrSchedule: t.lrSchedule, clipGradNorm: t.clipGradNorm, fromDisk: t.fromDisk, loss: network.loss ?? 'cross_entropy',
    optimizer: saved.adam ? 'adam' : saved.optimizer!.kind,
    momentum: saved.optimizer?.kind === 'sgd' ? saved.optimizer.momentum : null,
    weightDecay: saved.adam ? saved.adam.param_groups[0].weight_decay : saved.optimizer!.weightDecay,
  };
}

/** Each saved option's flag. */
const savedFlags: Record<string, string> = {
  epochs: 'epochs', batchSize: 'batch-size', seed: 'seed', lr: 'lr', hidden: 'hidden', target: 'target', task: 'task', ignore: 'ignore',
  validation: 'validation', standardize: 'standardize', earlyStop: 'early-stop', lrSchedule: 'lr-schedule', clipGradNorm: 'clip-grad-norm', fromDisk: 'from-disk',
  loss: 'loss', optimizer: 'optimizer', momentum: 'momentum', weightDecay: 'weight-decay',
};

/**
 * The options a resumed table run goes on with: its checkpoint's, which flags given with --resume may repeat but
 * not change (--data names the table again: the checkpoint holds its fingerprint, not its path).
 */
export function resumedOptions(input: CommandInput, saved: TrainingCheckpoint, file: string): Record<string, unknown> {
  const o = input.options;
  const fromFile = savedOptions(saved);
  const asked = (key: string): unknown => (!input.given(key) ? undefined : key === 'lrSchedule' ? (o.lrSchedule as string[]).join(':') : o[key]);
  checkSameAsSaved(file, Object.entries(savedFlags).map(([key, flag]) => [flag, asked(key), fromFile[key]]));
  checkSameNetwork({ activation: o.activation as Activation | undefined, dropout: o.dropout as number | undefined }, saved.network, file);
  const merged: Record<string, unknown> = { ...o };
  for (const [key, value] of Object.entries(fromFile)) merged[key] = key === 'lrSchedule' && value !== null ? (value as string).split(':') : value ?? undefined;
  return merged;
}

/** Whether a resumed run had already ended: at its last epoch, or stopped early (the checkpoint saved at that epoch). */
export function runEnded(saved: TrainingCheckpoint, epochs: number, patience: number | undefined): boolean {
  const stopper = saved.runState?.earlyStopping;
  return saved.position.epoch >= epochs || (patience !== undefined && stopper != null && stopper.wait > 0 && stopper.wait >= patience);
}
