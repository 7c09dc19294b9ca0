import { readFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@anopatch/runtime';
import { maxAbs, maxAbsDiff } from '@anopatch/test-fixtures';
import { beforeAll, describe, expect, it } from 'vitest';

import { ArcFaceConfigError } from './arcface.js';
import { SubClusterAdaCos } from './adacos.js';

interface Ref {
  N: number;
  D: number;
  C: number;
  cases: { K: number; W: number[][]; labels: number[]; s_init: number; steps: { x: number[][]; s_after: number; loss: number; grad_x: number[][] }[] }[];
}
const ref = JSON.parse(readFileSync(new URL('../../../tooling/reference/training/adacos_reference.json', import.meta.url), 'utf8')) as Ref;

describe('SubClusterAdaCos vs the torch reference (tooling/reference/training/adacos_reference.json)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', env: {} });
  });

  it.each(ref.cases.map((c) => [c.K, c] as const))('K = %i: initial scale, scale updates, loss and d loss / d x over two training batches', (K, c) => {
    const head = new SubClusterAdaCos({ embedDim: ref.D, numClasses: ref.C, subClusters: K }, { centres: new Float32Array(c.W.flat()) });
    expect(head.scale).toBeCloseTo(c.s_init, 12);
    for (const step of c.steps) {
      const x = tf.tensor2d(step.x.flat(), [ref.N, ref.D]);
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => head.loss(e as tf.Tensor2D, c.labels, { training: true }))(x);
      // the scale is a float64 JS number computed from float32 cosines
      expect(Math.abs(head.scale - step.s_after) / step.s_after).toBeLessThan(1e-5);
      expect(Math.abs(value.dataSync()[0]! - step.loss)).toBeLessThan(1e-4 * Math.max(1, step.loss));
      const g = step.grad_x.flat();
      expect(maxAbsDiff(grad.dataSync(), g) / maxAbs(g)).toBeLessThan(1e-4);
      tf.dispose([x, value, grad]);
    }
    head.dispose();
  });
});

describe('SubClusterAdaCos', () => {
  it('rejects bad sizes and labels', () => {
    expect(() => new SubClusterAdaCos({ embedDim: 4, numClasses: 1 })).toThrow(ArcFaceConfigError);
    const head = new SubClusterAdaCos({ embedDim: 4, numClasses: 3, subClusters: 2 });
    expect(() => head.loss(tf.zeros<tf.Rank.R2>([2, 4]), [0, 3], { training: false })).toThrow(/label 3/);
    expect(maxAbs([head.scale - Math.SQRT2 * Math.log(5)])).toBeLessThan(1e-12);
    head.dispose();
  });
});
