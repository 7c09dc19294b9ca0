import type { Ops, TensorData } from '@anopatch/runtime';

import { buildOnnxModel, type GraphInputSpec } from '../build.js';
import type { OnnxValue } from '../graph.js';
import { OnnxSession, type NamedTensor } from '../session.js';

/** Builds a graph from `forward`, loads it in ONNX Runtime (CPU, 1 thread) and runs it on `feeds`. */
export async function runOnnx(
  inputs: readonly (GraphInputSpec & { value: NamedTensor })[],
  forward: (ops: Ops<OnnxValue>, xs: readonly OnnxValue[]) => OnnxValue,
  weights: ReadonlyMap<string, TensorData> = new Map(),
): Promise<NamedTensor> {
  const builder = buildOnnxModel({
    weights,
    inputs,
    forward: (ops, xs) => ({ result: forward(ops, xs) }),
  });
  const session = await OnnxSession.create(builder.toBytes(), { threads: 1, executionProviders: ['cpu'] });
  try {
    const feeds: Record<string, NamedTensor> = {};
    for (const i of inputs) feeds[i.name] = i.value;
    const out = await session.run(feeds);
    return out.result!;
  } finally {
    await session.release();
  }
}

/** Deterministic values in [-scale, scale) (mulberry32), so tests need no fixtures. */
export function seeded(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}
