import { readFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@anopatch/runtime';
import { maxAbsDiff } from '@anopatch/test-fixtures';
import { beforeAll, describe, expect, it } from 'vitest';

import { OptimizerStateError } from '../errors.js';

import { AdamW } from './adamw.js';
import { learningRate, type LrDecay } from './schedule.js';

interface Case {
  name: string;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  schedule: LrDecay;
  warmup: number;
  total: number;
  lrs: number[];
  params_after_step: Record<string, number[]>[];
  final_state: Record<string, { exp_avg: number[]; exp_avg_sq: number[] }>;
}
interface Ref {
  shapes: Record<string, number[]>;
  init: Record<string, number[]>;
  grads: Record<string, number[]>[];
  cases: Case[];
}

const ref = JSON.parse(
  readFileSync(new URL('../../../../tooling/reference/training/adamw_reference.json', import.meta.url), 'utf8'),
) as Ref;

/** float32 vs torch's float32: different op order in the moment updates leaves ~1 ulp; 2e-6 absolute on O(1) params. */
const TOL = 2e-6;

function makeParams(): Map<string, tf.Variable> {
  return new Map(Object.entries(ref.shapes).map(([k, s]) => [k, tf.variable(tf.tensor(ref.init[k]!, s), true)]));
}

describe('AdamW vs torch.optim.AdamW (tooling/reference/training/adamw_reference.json)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', env: {} });
  });

  it.each(ref.cases.map((c) => [c.name, c] as const))('%s: lr schedule and parameters after every step', (_name, c) => {
    const params = makeParams();
    const opt = new AdamW(params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weight_decay });
    c.lrs.forEach((expectedLr, t) => {
      const lr = learningRate(t, { lr: c.lr, warmupSteps: c.warmup, totalSteps: c.total, decay: c.schedule });
      expect(Math.abs(lr - expectedLr)).toBeLessThan(1e-15);
      const grads = new Map(Object.entries(ref.grads[t]!).map(([k, g]) => [k, tf.tensor(g, ref.shapes[k])]));
      opt.apply(grads, lr);
      tf.dispose([...grads.values()]);
      for (const [k, p] of params) expect(maxAbsDiff(p.dataSync(), c.params_after_step[t]![k]!)).toBeLessThan(TOL);
    });
    opt.dispose();
    tf.dispose([...params.values()]);
  });

  it('getState / setState round-trips the moments and step counts (a restored optimizer continues identically)', async () => {
    const c = ref.cases[0]!;
    const hp = { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weight_decay };
    const sched = { lr: c.lr, warmupSteps: c.warmup, totalSteps: c.total, decay: c.schedule };
    const gradsAt = (t: number) => new Map(Object.entries(ref.grads[t]!).map(([k, g]) => [k, tf.tensor(g, ref.shapes[k])]));
    const a = makeParams();
    const optA = new AdamW(a, hp);
    for (let t = 0; t < 4; t++) optA.apply(gradsAt(t), learningRate(t, sched));
    const state = await optA.getState();
    expect(state.steps).toEqual({ a: 4, b: 4 });
    // a second optimizer on copies of the params, restored from the state
    const b = new Map([...a].map(([k, v]) => [k, tf.variable(v.clone(), true)]));
    const optB = new AdamW(b, hp);
    optB.setState(state);
    for (let t = 4; t < 7; t++) {
      optA.apply(gradsAt(t), learningRate(t, sched));
      optB.apply(gradsAt(t), learningRate(t, sched));
    }
    for (const [k, p] of a) expect(Array.from(b.get(k)!.dataSync())).toEqual(Array.from(p.dataSync()));
    const final = await optB.getState();
    for (const k of Object.keys(ref.shapes)) {
      expect(maxAbsDiff(final.tensors.get(`${k}.exp_avg`)!.data, c.final_state[k]!.exp_avg)).toBeLessThan(TOL);
      expect(maxAbsDiff(final.tensors.get(`${k}.exp_avg_sq`)!.data, c.final_state[k]!.exp_avg_sq)).toBeLessThan(TOL);
    }
    state.tensors.delete('b.exp_avg');
    expect(() => optB.setState(state, 'ckpt/optimizer.safetensors')).toThrow(OptimizerStateError);
    expect(() => optB.setState(state, 'ckpt/optimizer.safetensors')).toThrow("ckpt/optimizer.safetensors: missing tensor 'b.exp_avg'");
  });

  it('no tensors leak across steps', () => {
    const params = makeParams();
    const opt = new AdamW(params);
    const grads = new Map(Object.entries(ref.grads[0]!).map(([k, g]) => [k, tf.tensor(g, ref.shapes[k])]));
    opt.apply(grads, 1e-3);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.apply(grads, 1e-3);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('learningRate', () => {
  it('warms up linearly from 0, peaks at warmupSteps, and decays to the floor at totalSteps', () => {
    const s = { lr: 1e-4, warmupSteps: 960, totalSteps: 10_000 };
    expect(learningRate(0, s)).toBe(0);
    expect(learningRate(480, s)).toBeCloseTo(5e-5, 15);
    expect(learningRate(960, s)).toBeCloseTo(1e-4, 15);
    expect(learningRate(960 + 4520, s)).toBeCloseTo(5e-5, 15); // cosine midpoint
    expect(learningRate(10_000, s)).toBeCloseTo(0, 15);
    expect(learningRate(20_000, s)).toBeCloseTo(0, 15);
    expect(learningRate(10_000, { ...s, decay: 'linear', minLrRatio: 0.1 })).toBeCloseTo(1e-5, 15);
    expect(learningRate(5000, { ...s, decay: 'constant' })).toBe(1e-4);
  });
});
