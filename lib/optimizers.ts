// SGD and AdamW with torch.optim's semantics (PyTorch 1.13, foreach=False, maximize=False), each ONE flat loop
// over the model's whole parameter buffer (llm.c's gpt2_update): no optimizer knows about layers. The cpu engine
// runs them inside its training step (native/optimizer_math.h, the same operations in float32); elsewhere, and for
// update() and gradient clipping, they run here on the host buffers after the engine's computeGradients (fit
// downloads the gradients, steps, and uploads the parameters). SGD's momentum buffer is the model's `m` buffer;
// AdamW's moments are `m`, `v`. Adam (lib/adam.ts) is fused into every engine's training step.
import { Adam } from './adam';
import { checkBoolean, checkKnownOptions, checkNumber } from './check';
import type { OptimizerKind, StepHyper } from './backends/types';
import type { MLP } from './model';

export interface SGDOptions {
  /** Learning rate. Default 0.01. */
  lr?: number;
  /** Momentum factor μ. Default 0. */
  momentum?: number;
  /** Dampening τ of the momentum. Default 0. */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0, as torch). Default false. */
  nesterov?: boolean;
  /** L2 penalty λ, added to the gradient. Default 0. */
  weightDecay?: number;
}

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/**
 * torch.optim.SGD: g ← g + λθ; with momentum, b ← g at the first step, else b ← μb + (1 − τ)g, and g ← g + μb
 * (Nesterov) or g ← b; then θ ← θ − lr·g. Element-wise in float64, stored as float32 (as lib/backends' Adam).
 */
export class SGD {
  readonly kind = 'sgd' as const;
  readonly hyper: SGDHyper;
  /** Steps taken; the first one starts the momentum buffer (torch's momentum_buffer is None before). */
  step = 0;
  /** torch's initial_lr: what a learning-rate schedule starts from. */
  readonly initialLr: number;

  constructor(readonly model: MLP, options: SGDOptions = {}) {
    checkKnownOptions('SGD', options, ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay']);
    this.hyper = {
      lr: checkNumber('lr', options.lr ?? 0.01, 0, 1e3, true),
      momentum: checkNumber('momentum', options.momentum ?? 0, 0, 1),
      dampening: checkNumber('dampening', options.dampening ?? 0, 0, 1),
      nesterov: checkBoolean('nesterov', options.nesterov ?? false),
      weightDecay: checkNumber('weightDecay', options.weightDecay ?? 0, 0, 1e3),
    };
    if (this.hyper.nesterov && (this.hyper.momentum <= 0 || this.hyper.dampening !== 0)) {
      throw new TypeError('Nesterov momentum requires a momentum and zero dampening (as torch.optim.SGD)');
    }
    this.initialLr = this.hyper.lr;
  }

  /** One update of every parameter from the gradients the last backward pass left (as Adam.update). */
  update(): void {
    stepOnHost(this);
  }

  /** One step over params(n) from grads(n), the momentum buffer in m(n); `step` is 1-based. */
  apply(params: Float32Array, grads: Float32Array, m: Float32Array, _v: Float32Array, step: number): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = this.hyper;
    const n = params.length;
    for (let k = 0; k < n; k++) {
      let g = grads[k];
      if (weightDecay !== 0) g = Math.fround(g + weightDecay * params[k]);
      if (momentum !== 0) {
        const b = step === 1 ? g : Math.fround(momentum * m[k] + (1 - dampening) * g);
        m[k] = b;
        g = nesterov ? Math.fround(g + momentum * b) : b;
      }
      params[k] -= lr * g;
    }
  }
}

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay λ: θ ← θ(1 − lr·λ) before the Adam step. Default 0.01 (torch's). */
  weightDecay?: number;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * torch.optim.AdamW (Loshchilov & Hutter): θ ← θ(1 − lr·λ); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
 * θ ← θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
 */
export class AdamW {
  readonly kind = 'adamw' as const;
  readonly hyper: AdamWHyper;
  step = 0;
  readonly initialLr: number;

  constructor(readonly model: MLP, options: AdamWOptions = {}) {
    checkKnownOptions('AdamW', options, ['lr', 'betas', 'eps', 'weightDecay']);
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new TypeError(`Expected [beta1, beta2] for betas but received ${JSON.stringify(betas)}`);
    this.hyper = {
      lr: checkNumber('lr', options.lr ?? 0.001, 0, 1e3, true),
      beta1: checkNumber('betas[0]', betas[0], 0, 0.999999999),
      beta2: checkNumber('betas[1]', betas[1], 0, 0.999999999),
      eps: checkNumber('eps', options.eps ?? 1e-8, 0, 1),
      weightDecay: checkNumber('weightDecay', options.weightDecay ?? 0.01, 0, 1e3),
    };
    this.initialLr = this.hyper.lr;
  }

  /** One update of every parameter from the gradients the last backward pass left (as Adam.update). */
  update(): void {
    stepOnHost(this);
  }

  apply(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, step: number): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.hyper;
    const decay = 1 - lr * weightDecay;
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const bias2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
    const n = params.length;
    for (let k = 0; k < n; k++) {
      const g = grads[k];
      const p = Math.fround(params[k] * decay);
      const mk = Math.fround(beta1 * m[k] + (1 - beta1) * g);
      const vk = Math.fround(beta2 * v[k] + (1 - beta2) * g * g);
      m[k] = mk;
      v[k] = vk;
      params[k] = p - stepSize * mk / (Math.sqrt(vk) / bias2Sqrt + eps);
    }
  }
}

/**
 * Any optimizer fit() drives. Each runs inside the engine's training step where the engine has it
 * (Engine.fusedOptimizers: the cpu engine runs all three as native flat loops), else on the host buffers after
 * computeGradients (`apply` here; Adam's in the engine).
 */
export type Optimizer = Adam | SGD | AdamW;

/** Which optimizer this is, by torch.optim's class name in lower case. */
export function optimizerKind(optimizer: Optimizer): OptimizerKind {
  return optimizer instanceof Adam ? 'adam' : optimizer.kind;
}

/** The optimizer's current hyper-parameters as an engine's fused step takes them. */
export function stepHyper(optimizer: Optimizer): StepHyper {
  if (optimizer instanceof Adam) return optimizer.hyper;
  if (optimizer instanceof AdamW) return { kind: 'adamw', ...optimizer.hyper };
  return { kind: 'sgd', ...optimizer.hyper };
}

/** One step of a host-loop optimizer on the model's buffers: the engine's gradients down, the parameters back up. */
export function stepOnHost(optimizer: SGD | AdamW): void {
  const engine = optimizer.model.engine();
  engine.download();
  const { params, grads, m, v } = optimizer.model.buffers;
  optimizer.step += 1;
  optimizer.apply(params, grads, m, v, optimizer.step);
  engine.upload();
}
