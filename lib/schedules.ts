// Learning-rate schedules with torch.optim.lr_scheduler's semantics, stepped once after every epoch (the lr of
// epoch e is the scheduler's after e calls of step()), and early stopping with Keras's EarlyStopping semantics.
import { checkInteger, checkKnownOptions, checkNumber, checkOneOf } from './check';

export type LrSchedule =
  /** StepLR: lr ← lr·gamma every `stepSize` epochs. */
  | { kind: 'step'; stepSize: number; gamma?: number }
  /** CosineAnnealingLR: from the initial lr down to etaMin over tMax epochs (torch's recursive form). */
  | { kind: 'cosine'; tMax: number; etaMin?: number }
  /** ReduceLROnPlateau (mode 'min' for losses, 'max' for accuracy; threshold_mode 'rel'), on `monitor`. */
  | { kind: 'plateau'; monitor?: Monitor; factor?: number; patience?: number; threshold?: number; cooldown?: number; minLr?: number };

/** What early stopping and ReduceLROnPlateau watch: a validation metric, or the training loss. */
export type Monitor = 'val_loss' | 'val_accuracy' | 'val_mse' | 'val_mae' | 'loss';
export const monitors: readonly Monitor[] = ['val_loss', 'val_accuracy', 'val_mse', 'val_mae', 'loss'];

/** Whether a larger value of `monitor` is better. */
export const maximizes = (monitor: Monitor): boolean => monitor === 'val_accuracy';

/** The lr for the next epoch, from the state of the schedule after each epoch (torch's scheduler.step()). */
export class LrScheduler {
  /** torch's last_epoch: how many times step() ran. */
  private epoch = 0;
  private best: number;
  private badEpochs = 0;
  private cooldownLeft = 0;
  readonly schedule: Required<LrSchedule>;

  constructor(schedule: LrSchedule, private readonly initialLr: number, private lr: number = initialLr) {
    if (schedule === null || typeof schedule !== 'object') throw new TypeError(`Expected an object { kind: 'step' | 'cosine' | 'plateau', ... } for lrSchedule but received ${String(schedule)}`);
    const kind = checkOneOf('lrSchedule.kind', schedule.kind, ['step', 'cosine', 'plateau'] as const);
    if (kind === 'step') {
      const s = schedule as Extract<LrSchedule, { kind: 'step' }>;
      checkKnownOptions('lrSchedule', s, ['kind', 'stepSize', 'gamma']);
      this.schedule = { kind, stepSize: checkInteger('lrSchedule.stepSize', s.stepSize, 1), gamma: checkNumber('lrSchedule.gamma', s.gamma ?? 0.1, 0, 1e3) } as Required<LrSchedule>;
    } else if (kind === 'cosine') {
      const s = schedule as Extract<LrSchedule, { kind: 'cosine' }>;
      checkKnownOptions('lrSchedule', s, ['kind', 'tMax', 'etaMin']);
      this.schedule = { kind, tMax: checkInteger('lrSchedule.tMax', s.tMax, 1), etaMin: checkNumber('lrSchedule.etaMin', s.etaMin ?? 0, 0, 1e3) } as Required<LrSchedule>;
    } else {
      const s = schedule as Extract<LrSchedule, { kind: 'plateau' }>;
      checkKnownOptions('lrSchedule', s, ['kind', 'monitor', 'factor', 'patience', 'threshold', 'cooldown', 'minLr']);
      this.schedule = {
        kind,
        monitor: checkOneOf('lrSchedule.monitor', s.monitor ?? 'val_loss', monitors),
        factor: checkNumber('lrSchedule.factor', s.factor ?? 0.1, 0, 0.999999),
        patience: checkInteger('lrSchedule.patience', s.patience ?? 10, 0),
        threshold: checkNumber('lrSchedule.threshold', s.threshold ?? 1e-4, 0, 1),
        cooldown: checkInteger('lrSchedule.cooldown', s.cooldown ?? 0, 0),
        minLr: checkNumber('lrSchedule.minLr', s.minLr ?? 0, 0, 1e3),
      } as Required<LrSchedule>;
    }
    this.best = this.schedule.kind === 'plateau' && maximizes(this.schedule.monitor) ? -Infinity : Infinity;
  }

  /** What a resumed run needs to go on as this one would (JSON-able: a best of ±Infinity is null). */
  state(): SchedulerState {
    return { epoch: this.epoch, lr: this.lr, best: Number.isFinite(this.best) ? this.best : null, badEpochs: this.badEpochs, cooldownLeft: this.cooldownLeft };
  }

  restore(state: SchedulerState): void {
    this.epoch = state.epoch;
    this.lr = state.lr;
    if (state.best !== null) this.best = state.best;
    this.badEpochs = state.badEpochs;
    this.cooldownLeft = state.cooldownLeft;
  }

  /** The monitored metric's name for 'plateau', else null (the others need no metric). */
  get monitor(): Monitor | null {
    return this.schedule.kind === 'plateau' ? this.schedule.monitor : null;
  }

  /** After an epoch: advances the schedule and returns the lr for the next one. `metric`: the monitored value. */
  step(metric: number): number {
    this.epoch += 1;
    const s = this.schedule;
    const e = this.epoch;
    if (s.kind === 'step') {
      if (e % s.stepSize === 0) this.lr = this.lr * s.gamma;
    } else if (s.kind === 'cosine') {
      // torch's CosineAnnealingLR.get_lr (the recursive form, so the lrs equal torch's to the last bit or so).
      const { tMax, etaMin } = s;
      if ((e - 1 - tMax) % (2 * tMax) === 0) {
        this.lr = this.lr + ((this.initialLr - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
      } else {
        this.lr = ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) * (this.lr - etaMin) + etaMin;
      }
    } else {
      const better = maximizes(s.monitor) ? metric > this.best * (1 + s.threshold) : metric < this.best * (1 - s.threshold);
      if (better) {
        this.best = metric;
        this.badEpochs = 0;
      } else {
        this.badEpochs += 1;
      }
      if (this.cooldownLeft > 0) {
        this.cooldownLeft -= 1;
        this.badEpochs = 0;
      }
      if (this.badEpochs > s.patience) {
        const next = Math.max(this.lr * s.factor, s.minLr);
        if (this.lr - next > 1e-8) this.lr = next; // torch's eps
        this.cooldownLeft = s.cooldown;
        this.badEpochs = 0;
      }
    }
    return this.lr;
  }
}

/** LrScheduler's state after some epochs: torch's last_epoch, the lr, and ReduceLROnPlateau's counters. */
export interface SchedulerState {
  epoch: number;
  lr: number;
  best: number | null;
  badEpochs: number;
  cooldownLeft: number;
}

/** EarlyStopper's state: the best metric so far, its epoch, the epochs since. */
export interface StopperState {
  best: number | null;
  bestEpoch: number;
  wait: number;
}

/**
 * What a run carries from epoch to epoch besides the weights, the optimizer and the position: the schedule's and
 * early stopping's state and the best weights kept so far. Saved in a training checkpoint; fit's `resumeState`.
 */
export interface RunState {
  scheduler: SchedulerState | null;
  earlyStopping: StopperState | null;
  /** The parameters of the best epoch so far (early stopping with restoreBestWeights), or null. */
  bestWeights: Float32Array | null;
}

export interface EarlyStopping {
  /** The metric watched. Default 'val_loss' when there is validation data, else 'loss'. */
  monitor?: Monitor;
  /** Epochs without improvement before stopping. Default 10. */
  patience?: number;
  /** An improvement must exceed this. Default 0. */
  minDelta?: number;
  /** At the end, put back the weights of the best epoch. Default true. */
  restoreBestWeights?: boolean;
}

/** Keras's EarlyStopping: stops after `patience` epochs whose metric did not improve on the best by more than minDelta. */
export class EarlyStopper {
  readonly monitor: Monitor;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  best: number;
  bestEpoch = -1;
  wait = 0;

  constructor(options: EarlyStopping, hasValidation: boolean) {
    if (options === null || typeof options !== 'object') throw new TypeError(`Expected an object { monitor, patience, minDelta } for earlyStopping but received ${String(options)}`);
    checkKnownOptions('earlyStopping', options, ['monitor', 'patience', 'minDelta', 'restoreBestWeights']);
    this.monitor = checkOneOf('earlyStopping.monitor', options.monitor ?? (hasValidation ? 'val_loss' : 'loss'), monitors);
    this.patience = checkInteger('earlyStopping.patience', options.patience ?? 10, 0);
    this.minDelta = checkNumber('earlyStopping.minDelta', options.minDelta ?? 0, 0, 1e30);
    this.restoreBestWeights = options.restoreBestWeights ?? true;
    this.best = maximizes(this.monitor) ? -Infinity : Infinity;
  }

  /** Records epoch `epoch`'s metric; true when this epoch is the best so far (its weights are worth keeping). */
  update(epoch: number, metric: number): boolean {
    const improved = maximizes(this.monitor) ? metric - this.minDelta > this.best : metric + this.minDelta < this.best;
    if (improved) {
      this.best = metric;
      this.bestEpoch = epoch;
      this.wait = 0;
      return true;
    }
    this.wait += 1;
    return false;
  }

  state(): StopperState {
    return { best: Number.isFinite(this.best) ? this.best : null, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  restore(state: StopperState): void {
    if (state.best !== null) this.best = state.best;
    this.bestEpoch = state.bestEpoch;
    this.wait = state.wait;
  }

  /** Whether training should stop now. */
  get shouldStop(): boolean {
    return this.wait > 0 && this.wait >= this.patience;
  }
}
