import * as tf from '@tensorflow/tfjs-core';

export interface MatmulPeak {
  backend: string;
  size: number;
  gflops: number;
}

/**
 * Peak-ish matmul throughput of the current TF.js backend: the best of a few n x n products after a
 * warm-up. The denominator of the arithmetic floor (GFLOP per clip / GFLOP/s).
 */
export async function measureTfjsMatmul(size = 1024, repeats = 5): Promise<MatmulPeak> {
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  try {
    await tf.matMul(a, b).data(); // warm-up: kernel compile, memory
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      best = Math.min(best, (performance.now() - t0) / 1000);
      c.dispose();
    }
    return { backend: tf.getBackend(), size, gflops: (2 * size ** 3) / best / 1e9 };
  } finally {
    a.dispose();
    b.dispose();
  }
}
