// Adam's state, held in TypeScript: hyper-parameters and the step count here, the two moments as the
// model's flat `m` and `v` buffers. The update itself runs in the backend's kernel.
import type { AdamHyper } from './backends/types';
import { checkInteger, checkKnownOptions, checkNumber } from './check';
import type { MLP } from './model';
import { elementCount, ownFiniteFloat32, type StateDict } from './tensor';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Shaped like torch.optim.Adam's state_dict(): per-parameter state keyed by index, and one param group. */
export interface AdamStateDict {
  state: Record<number, { step: number; exp_avg: Float32Array; exp_avg_sq: Float32Array }>;
  param_groups: {
    lr: number;
    betas: [number, number];
    eps: number;
    weight_decay: number;
    amsgrad: false;
    maximize: false;
    params: number[];
  }[];
}

const knownOptions = ['lr', 'betas', 'eps', 'weightDecay'] as const;

export class Adam {
  readonly hyper: AdamHyper;
  /** Steps taken; the next update is step + 1 (torch counts from 1). */
  step = 0;

  constructor(readonly model: MLP, options: AdamOptions = {}) {
    checkKnownOptions('Adam', options, knownOptions);
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new TypeError(`Expected [beta1, beta2] for betas but received ${JSON.stringify(betas)}`);
    this.hyper = {
      lr: checkNumber('lr', options.lr ?? 0.001, 0, 1e3, true),
      beta1: checkNumber('betas[0]', betas[0], 0, 0.999999999),
      beta2: checkNumber('betas[1]', betas[1], 0, 0.999999999),
      eps: checkNumber('eps', options.eps ?? 1e-8, 0, 1, true), // 0 divides by √v = 0: NaN at the first step
      weightDecay: checkNumber('weightDecay', options.weightDecay ?? 0, 0, 1e3),
    };
  }

  /** One update of every parameter from the gradients the last backward pass left. */
  update(): void {
    this.step += 1;
    this.model.engine().adamStep(this.hyper, this.step);
  }

  /** Clears the moments and the step count. */
  reset(): void {
    this.model.syncToHost();
    this.model.buffers.m.fill(0);
    this.model.buffers.v.fill(0);
    this.step = 0;
    this.model.engine().upload();
  }

  stateDict(): AdamStateDict {
    this.model.syncToHost();
    const state: AdamStateDict['state'] = {};
    if (this.step > 0) {
      this.model.layout.forEach((p, i) => {
        state[i] = { step: this.step, exp_avg: this.model.view(p.name, 'm').slice(), exp_avg_sq: this.model.view(p.name, 'v').slice() };
      });
    }
    const h = this.hyper;
    return {
      state,
      param_groups: [{ lr: h.lr, betas: [h.beta1, h.beta2], eps: h.eps, weight_decay: h.weightDecay, amsgrad: false, maximize: false, params: this.model.layout.map((_, i) => i) }],
    };
  }

  /**
   * Loads a state shaped as torch.optim.Adam's state_dict(), checked as arguments are: one param group whose
   * hyper-parameters Adam's constructor accepts (eps > 0; amsgrad and maximize false), state for none or every
   * parameter (keys 0 .. count − 1), one integer step ≥ 0 for all, moments of the parameter's size that are finite
   * in float32, exp_avg_sq ≥ 0. The moments are copied first and the copies checked and loaded (see
   * ownFiniteFloat32). Throws a RangeError or TypeError that names what is wrong; on error nothing is changed.
   */
  loadStateDict(dict: AdamStateDict): void {
    const group = dict?.param_groups?.[0];
    if (!group || dict.param_groups.length !== 1) throw new RangeError('Adam.loadStateDict: expected exactly one param group');
    for (const flag of ['amsgrad', 'maximize'] as const) {
      if (group[flag] !== undefined && group[flag] !== false) {
        throw new RangeError(`Adam.loadStateDict: param group has ${flag} ${JSON.stringify(group[flag])}, which fcnet's Adam does not do`);
      }
    }
    const layout = this.model.layout;
    const entries = Object.keys(dict.state ?? {});
    if (entries.length !== 0 && entries.length !== layout.length) {
      throw new RangeError(`Adam.loadStateDict: state for ${entries.length} parameters but the model has ${layout.length}`);
    }
    const stray = entries.find((k) => !(Number(k) >= 0 && Number(k) < layout.length && String(Number.parseInt(k, 10)) === k));
    if (stray !== undefined) throw new RangeError(`Adam.loadStateDict: state key '${stray}' is not a parameter index from 0 to ${layout.length - 1}`);
    const steps = new Set(entries.map((k) => dict.state[Number(k)].step));
    if (steps.size > 1) throw new RangeError(`Adam.loadStateDict: parameters are at different steps (${[...steps].join(', ')})`);
    const step = entries.length ? checkInteger(`state[${entries[0]}].step`, dict.state[Number(entries[0])].step, 0, Number.MAX_SAFE_INTEGER - 1) : 0;
    const moments = layout.map((p, i) => {
      const s = dict.state[i];
      const n = elementCount(p.shape);
      if (!s) return { m: new Float32Array(n), v: new Float32Array(n) };
      const what = (name: string) => `Adam.loadStateDict: ${name} of parameter ${i} ('${p.name}')`;
      const m = ownFiniteFloat32(s.exp_avg, what('exp_avg'));
      const v = ownFiniteFloat32(s.exp_avg_sq, what('exp_avg_sq'), true);
      if (m.length !== n || v.length !== n) {
        throw new RangeError(`Adam.loadStateDict: moments of parameter ${i} ('${p.name}') hold ${m.length} and ${v.length} values but it has ${n}`);
      }
      return { m, v };
    });
    const next = new Adam(this.model, { lr: group.lr, betas: group.betas, eps: group.eps, weightDecay: group.weight_decay });
    this.model.syncToHost();
    layout.forEach((p, i) => {
      this.model.view(p.name, 'm').set(moments[i].m);
      this.model.view(p.name, 'v').set(moments[i].v);
    });
    Object.assign(this.hyper, next.hyper);
    this.step = step;
    this.model.engine().upload();
  }
}

/** The moments as a flat StateDict, for checkpoints: adam.exp_avg.<name>, adam.exp_avg_sq.<name>. */
export function adamMomentTensors(adam: Adam): StateDict {
  adam.model.syncToHost();
  const out: StateDict = {};
  for (const p of adam.model.layout) {
    out[`adam.exp_avg.${p.name}`] = { shape: [...p.shape], data: adam.model.view(p.name, 'm').slice() };
    out[`adam.exp_avg_sq.${p.name}`] = { shape: [...p.shape], data: adam.model.view(p.name, 'v').slice() };
  }
  return out;
}
