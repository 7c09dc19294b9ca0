import type { Ops, ParamSpec } from '@anopatch/runtime';

/**
 * How backbone tokens become one utterance vector (paper Sec. 2 / Table 3 protocol):
 * - `'asp'`: SpeechBrain ECAPA-TDNN attentive statistics pooling with global context -> [B, 2C];
 * - `'cls'`: the backbone's [CLS]-style token (token 0) -> [B, C].
 * Either is followed by the projection `fc` to the embedding dimension.
 */
export type PoolingKind = 'asp' | 'cls';

export interface HeadConfig {
  pooling: PoolingKind;
  /** Token dimension C of the backbone. */
  channels: number;
  /** ASP attention channels A (ECAPA default 128; the tiny fixture uses 32). */
  attentionChannels: number;
  /** Embedding dimension E (paper: 128). */
  embedDim: number;
}

export const HEAD_DEFAULTS = { pooling: 'asp', attentionChannels: 128, embedDim: 128 } as const;

/** SpeechBrain's names (state dicts load unchanged). */
export const HEAD_PARAM = {
  tdnnWeight: 'asp.tdnn.conv.conv.weight',
  tdnnBias: 'asp.tdnn.conv.conv.bias',
  bnWeight: 'asp.tdnn.norm.norm.weight',
  bnBias: 'asp.tdnn.norm.norm.bias',
  bnRunningMean: 'asp.tdnn.norm.norm.running_mean',
  bnRunningVar: 'asp.tdnn.norm.norm.running_var',
  attnWeight: 'asp.conv.conv.weight',
  attnBias: 'asp.conv.conv.bias',
  fcWeight: 'fc.weight',
  fcBias: 'fc.bias',
} as const;

/** BatchNorm1d's counter; kept beside the params as plain state (PyTorch stores it as int64). */
export const BN_NUM_BATCHES_TRACKED = 'asp.tdnn.norm.norm.num_batches_tracked';
/** Buffers updated outside the gradient (training-mode BatchNorm), not optimised. */
export const HEAD_BUFFERS: readonly string[] = [HEAD_PARAM.bnRunningMean, HEAD_PARAM.bnRunningVar];

const BN_EPS = 1e-5;
/** SpeechBrain's clamp inside the std's sqrt. */
const STD_EPS = 1e-12;
/** PyTorch BatchNorm1d's default momentum. */
export const BN_MOMENTUM = 0.1;

/**
 * The head's parameters and buffers with PyTorch's default inits (Conv1d / Linear: U(+-1/sqrt(fan_in))
 * for weight and bias; BatchNorm: weight 1, bias 0, running mean 0, running var 1).
 */
export function headParamSpecs(config: HeadConfig): ParamSpec[] {
  const { channels: C, attentionChannels: A, embedDim: E } = config;
  const fcIn = config.pooling === 'asp' ? 2 * C : C;
  const fc: ParamSpec[] = [
    { name: HEAD_PARAM.fcWeight, shape: [E, fcIn], init: { kind: 'uniform', bound: 1 / Math.sqrt(fcIn) } },
    { name: HEAD_PARAM.fcBias, shape: [E], init: { kind: 'uniform', bound: 1 / Math.sqrt(fcIn) } },
  ];
  if (config.pooling === 'cls') return fc;
  return [
    { name: HEAD_PARAM.tdnnWeight, shape: [A, 3 * C, 1], init: { kind: 'uniform', bound: 1 / Math.sqrt(3 * C) } },
    { name: HEAD_PARAM.tdnnBias, shape: [A], init: { kind: 'uniform', bound: 1 / Math.sqrt(3 * C) } },
    { name: HEAD_PARAM.bnWeight, shape: [A], init: { kind: 'ones' } },
    { name: HEAD_PARAM.bnBias, shape: [A], init: { kind: 'zeros' } },
    { name: HEAD_PARAM.bnRunningMean, shape: [A], init: { kind: 'zeros' } },
    { name: HEAD_PARAM.bnRunningVar, shape: [A], init: { kind: 'ones' } },
    { name: HEAD_PARAM.attnWeight, shape: [C, A, 1], init: { kind: 'uniform', bound: 1 / Math.sqrt(A) } },
    { name: HEAD_PARAM.attnBias, shape: [C], init: { kind: 'uniform', bound: 1 / Math.sqrt(A) } },
    ...fc,
  ];
}

export interface PoolingOutput<T> {
  /** [B, 2C] (asp) or [B, C] (cls). */
  pooled: T;
  /** ASP attention weights [B, P, C] (softmax over P per channel). */
  attention?: T;
  /**
   * Training mode only: the BatchNorm batch statistics over (B, P) per channel [A] — mean and
   * biased variance — from which the caller updates the running buffers (outside the gradient).
   */
  batchStats?: { mean: T; variance: T };
}

/** Mean and std over time with weights w [B, P, C] (or uniform 1/P), both [B, 1, C]. */
function weightedStats<T>(ops: Ops<T>, x: T, w: T | undefined): { mean: T; std: T } {
  const mean = w === undefined ? ops.mean(x, 1, true) : ops.sum(ops.mul(w, x), 1, true);
  const d = ops.sub(x, mean);
  const sq = ops.mul(d, d);
  const variance = w === undefined ? ops.mean(sq, 1, true) : ops.sum(ops.mul(w, sq), 1, true);
  return { mean, std: ops.sqrt(ops.maximum(variance, ops.scalar(STD_EPS))) };
}

/** W [out, in, 1] of a k=1 conv as a linear weight [out, in] (the static shape is a param's, so readable). */
function kernel1<T>(ops: Ops<T>, name: string): number[] {
  const s = ops.paramShape(name);
  return [s[0]!, s[1]!];
}

/**
 * SpeechBrain AttentiveStatisticsPooling (global_context=True, lengths=None) on channels-last
 * tokens x [B, P, C]:
 *   a = ReLU(conv1x1([x; mean(x); std(x)])) -> BatchNorm1d -> tanh -> conv1x1 -> softmax over P
 *   pooled = [sum_t a x; sqrt(clamp(sum_t a (x - mean)^2, 1e-12))]
 * The k=1 conv over the concatenation is computed as three linears on the split weight, so the
 * time-repeated mean/std are never materialised (equal up to float summation order).
 */
export function attentiveStatsPooling<T>(ops: Ops<T>, x: T, options: { training: boolean }): PoolingOutput<T> {
  const { tdnnWeight, tdnnBias, bnWeight, bnBias, bnRunningMean, bnRunningVar, attnWeight, attnBias } = HEAD_PARAM;
  const [A, threeC] = kernel1(ops, tdnnWeight);
  const C = threeC! / 3;
  const w = ops.reshape(ops.param(tdnnWeight), [A!, threeC!]);
  const global = weightedStats(ops, x, undefined);
  let a = ops.linear(x, ops.slice(w, 1, 0, C), ops.param(tdnnBias));
  a = ops.add(a, ops.linear(global.mean, ops.slice(w, 1, C, 2 * C)));
  a = ops.add(a, ops.linear(global.std, ops.slice(w, 1, 2 * C, 3 * C)));
  a = ops.relu(a);

  let batchStats: PoolingOutput<T>['batchStats'];
  let mu: T;
  let variance: T;
  if (options.training) {
    mu = ops.mean(a, [0, 1], true);
    const d = ops.sub(a, mu);
    variance = ops.mean(ops.mul(d, d), [0, 1], true);
    batchStats = { mean: ops.reshape(mu, [-1]), variance: ops.reshape(variance, [-1]) };
  } else {
    mu = ops.param(bnRunningMean);
    variance = ops.param(bnRunningVar);
  }
  const inv = ops.div(ops.scalar(1), ops.sqrt(ops.add(variance, ops.scalar(BN_EPS))));
  a = ops.add(ops.mul(ops.mul(ops.sub(a, mu), inv), ops.param(bnWeight)), ops.param(bnBias));

  const logits = ops.linear(ops.tanh(a), ops.reshape(ops.param(attnWeight), kernel1(ops, attnWeight)), ops.param(attnBias));
  const attention = ops.softmax(logits, 1);
  const stats = weightedStats(ops, x, attention);
  const pooled = ops.concat([ops.reshape(stats.mean, [0, -1]), ops.reshape(stats.std, [0, -1])], 1);
  return { pooled, attention, batchStats };
}

/** Token 0 of x [B, P, C] as [B, C]. */
export function clsPooling<T>(ops: Ops<T>, x: T): PoolingOutput<T> {
  return { pooled: ops.reshape(ops.slice(x, 1, 0, 1), [0, -1]) };
}

/** Pooling then the projection `fc` -> embedding [B, E]. */
export function poolAndProject<T>(ops: Ops<T>, tokens: T, pooling: PoolingKind, options: { training: boolean }): PoolingOutput<T> & { embedding: T } {
  const out = pooling === 'asp' ? attentiveStatsPooling(ops, tokens, options) : clsPooling(ops, tokens);
  return { ...out, embedding: ops.linear(out.pooled, ops.param(HEAD_PARAM.fcWeight), ops.param(HEAD_PARAM.fcBias)) };
}
