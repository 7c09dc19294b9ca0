import * as tf from '@tensorflow/tfjs-core';

import type { TensorData } from '@anopatch/runtime';

import { OptimizerStateError } from '../errors.js';

export interface AdamWConfig {
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; default 0.01 (torch.optim.AdamW's default; the paper does not state one). */
  weightDecay?: number;
}

export const ADAMW_DEFAULTS: Required<AdamWConfig> = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
  /** Updates this parameter has had (torch keeps one count per parameter). */
  step: number;
}

/** The optimizer's state as plain data: moments by `<param>.exp_avg` / `<param>.exp_avg_sq`, step counts by param. */
export interface AdamWState {
  steps: Record<string, number>;
  tensors: Map<string, TensorData>;
}

/**
 * AdamW with PyTorch's semantics (torch.optim.AdamW, single-tensor path, amsgrad off):
 *   p <- p * (1 - lr * wd)
 *   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The decay multiplies the parameter before the Adam step and is not part of the gradient, so it
 * is not rescaled by the adaptive denominator (Loshchilov & Hutter). Checked against torch in
 * adamw.test.ts (tooling/reference/training).
 */
export class AdamW {
  readonly config: Required<AdamWConfig>;
  private readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly slots = new Map<string, Slot>();

  constructor(params: ReadonlyMap<string, tf.Variable>, config: AdamWConfig = {}) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    this.params = params;
    for (const [name, p] of params) {
      const [zm, zv] = [tf.zerosLike(p), tf.zerosLike(p)];
      this.slots.set(name, { m: tf.variable(zm, false), v: tf.variable(zv, false), step: 0 });
      // the variables hold their own references to the data; the handles would only inflate tf.memory()
      tf.dispose([zm, zv]);
    }
  }

  /** Names of the parameters it updates, in insertion order. */
  get paramNames(): string[] {
    return [...this.params.keys()];
  }

  /**
   * One update with learning rate `lr`. Parameters without a gradient are left alone (as torch
   * skips `p.grad is None`), their step counts included.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>, lr: number): void {
    const byName: ReadonlyMap<string, tf.Tensor> = grads instanceof Map ? (grads as ReadonlyMap<string, tf.Tensor>) : new Map(Object.entries(grads));
    const { beta1, beta2, eps, weightDecay } = this.config;
    for (const [name, p] of this.params) {
      const g = byName.get(name);
      if (!g) continue;
      const slot = this.slots.get(name)!;
      slot.step += 1;
      const t = slot.step;
      const stepSize = lr / (1 - beta1 ** t);
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      tf.tidy(() => {
        const decayed = weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        const m = tf.add(tf.mul(slot.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        slot.m.assign(m);
        slot.v.assign(v);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      });
    }
  }

  /** Moments and step counts, for checkpoints. */
  async getState(): Promise<AdamWState> {
    const tensors = new Map<string, TensorData>();
    const steps: Record<string, number> = {};
    for (const [name, slot] of this.slots) {
      steps[name] = slot.step;
      tensors.set(`${name}.exp_avg`, { shape: slot.m.shape, data: (await slot.m.data()) as Float32Array });
      tensors.set(`${name}.exp_avg_sq`, { shape: slot.v.shape, data: (await slot.v.data()) as Float32Array });
    }
    return { steps, tensors };
  }

  /** Restore what getState returned; every parameter must be present with its own shape. */
  setState(state: AdamWState, source = 'optimizer state'): void {
    for (const [name, slot] of this.slots) {
      const step = state.steps[name];
      if (step === undefined || !Number.isInteger(step) || step < 0) throw new OptimizerStateError(source, `no step count for parameter '${name}'`);
      for (const [key, variable] of [[`${name}.exp_avg`, slot.m], [`${name}.exp_avg_sq`, slot.v]] as const) {
        const t = state.tensors.get(key);
        if (!t) throw new OptimizerStateError(source, `missing tensor '${key}'`);
        if (t.shape.length !== variable.shape.length || t.shape.some((d, i) => d !== variable.shape[i])) {
          throw new OptimizerStateError(source, `'${key}' has shape [${t.shape.join(', ')}], expected [${variable.shape.join(', ')}]`);
        }
        variable.assign(tf.tensor(t.data, variable.shape, 'float32'));
      }
      slot.step = step;
    }
  }

  dispose(): void {
    for (const slot of this.slots.values()) {
      slot.m.dispose();
      slot.v.dispose();
    }
    this.slots.clear();
  }
}
