import * as tf from '@tensorflow/tfjs-core';

import { ArcFaceConfigError, cosineLogits } from './arcface.js';

export interface SubClusterAdaCosConfig {
  embedDim: number;
  numClasses: number;
  /** Sub-clusters per class K (Wilkinghoff used 16); 1 = AdaCos. Default 16. */
  subClusters?: number;
}

const COS_EPS = 1e-7;

/**
 * Sub-cluster AdaCos (Wilkinghoff 2021), an alternative to ArcFace for ASD: K fixed (not trained)
 * centres per class, logits s * cos to every centre, class probability = the summed softmax over
 * its K centres, and an adaptive scale s updated from each training batch (no gradient):
 *   B_avg = mean_i sum_{j not of class y_i} exp(s cos_ij),
 *   theta_med = median_i of the mean angle to y_i's centres (the lower middle for even counts, as torch.median),
 *   s <- log(B_avg) / cos(min(pi/4, theta_med)),
 * starting from s = sqrt(2) log(C K - 1). K = 1 is AdaCos (Zhang et al. 2019) with fixed centres.
 */
export class SubClusterAdaCos {
  readonly embedDim: number;
  readonly numClasses: number;
  readonly subClusters: number;
  /** Centres [embedDim, numClasses * K]; class c owns columns c*K .. c*K + K - 1. Not trainable. */
  readonly centres: tf.Variable<tf.Rank.R2>;
  /** The current adaptive scale (part of the training state: checkpoint it with the model). */
  scale: number;

  constructor(config: SubClusterAdaCosConfig, init: { centres?: Float32Array; seed?: number; scale?: number } = {}) {
    const K = config.subClusters ?? 16;
    const { embedDim, numClasses } = config;
    if (!Number.isInteger(embedDim) || embedDim < 1) throw new ArcFaceConfigError(`SubClusterAdaCos: embedDim must be a positive integer, got ${embedDim}`);
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new ArcFaceConfigError(`SubClusterAdaCos: numClasses must be an integer >= 2, got ${numClasses}`);
    if (!Number.isInteger(K) || K < 1) throw new ArcFaceConfigError(`SubClusterAdaCos: subClusters must be a positive integer, got ${K}`);
    this.embedDim = embedDim;
    this.numClasses = numClasses;
    this.subClusters = K;
    const cols = numClasses * K;
    const initial = tf.tidy(() => {
      if (init.centres) {
        if (init.centres.length !== embedDim * cols) throw new ArcFaceConfigError(`SubClusterAdaCos: centres have ${init.centres.length} values, expected ${embedDim * cols}`);
        return tf.tensor2d(init.centres, [embedDim, cols]);
      }
      const bound = Math.sqrt(6 / (embedDim + cols));
      return tf.randomUniform<tf.Rank.R2>([embedDim, cols], -bound, bound, 'float32', init.seed ?? 0);
    });
    this.centres = tf.variable(initial, false);
    initial.dispose();
    this.scale = init.scale ?? Math.SQRT2 * Math.log(cols - 1);
  }

  private checkLabels(labels: ArrayLike<number>): void {
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!;
      if (!Number.isInteger(y) || y < 0 || y >= this.numClasses) {
        throw new ArcFaceConfigError(`SubClusterAdaCos: label ${y} at position ${i} is not a class index in [0, ${this.numClasses})`);
      }
    }
  }

  /**
   * The scale after one training batch's update (does not change `this.scale`): computed from the
   * cosines' values only, so it carries no gradient.
   */
  nextScale(cos: tf.Tensor2D, labels: ArrayLike<number>): number {
    const n = labels.length;
    const K = this.subClusters;
    const values = cos.dataSync();
    const cols = this.numClasses * K;
    let bSum = 0;
    const thetaClass = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      let theta = 0;
      for (let j = 0; j < cols; j++) {
        const c = values[i * cols + j]!;
        if (Math.floor(j / K) === y) theta += Math.acos(Math.min(1 - COS_EPS, Math.max(-1 + COS_EPS, c)));
        else bSum += Math.exp(this.scale * c);
      }
      thetaClass[i] = theta / K;
    }
    const sorted = Array.from(thetaClass).sort((a, b) => a - b);
    const median = sorted[Math.floor((n - 1) / 2)]!;
    return Math.log(bSum / n) / Math.cos(Math.min(Math.PI / 4, median));
  }

  /** Class probabilities [N, C] at scale s: softmax over all centres, summed per class. */
  private classProbabilities(cos: tf.Tensor2D, s: number): tf.Tensor2D {
    return tf.tidy(() => {
      const p = tf.softmax(tf.mul(cos, s));
      return tf.sum(tf.reshape(p, [-1, this.numClasses, this.subClusters]), 2);
    });
  }

  /**
   * Mean cross-entropy of the summed sub-cluster probabilities. In training the scale is updated
   * from this batch first (as the reference implementation does) and the new scale is used.
   */
  loss(embeddings: tf.Tensor2D, labels: ArrayLike<number>, options: { training: boolean }): tf.Scalar {
    if (embeddings.shape[0] !== labels.length) throw new ArcFaceConfigError(`SubClusterAdaCos: ${labels.length} labels for ${embeddings.shape[0]} embeddings`);
    if (embeddings.shape[1] !== this.embedDim) throw new ArcFaceConfigError(`SubClusterAdaCos: embeddings have ${embeddings.shape[1]} dims, expected ${this.embedDim}`);
    this.checkLabels(labels);
    return tf.tidy(() => {
      const cos = cosineLogits(embeddings, this.centres);
      if (options.training) this.scale = this.nextScale(cos, labels);
      const probs = this.classProbabilities(cos, this.scale);
      const own = tf.sum(tf.mul(probs, tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), this.numClasses)), 1);
      // the sum of softmax terms can underflow to 0 for a hopeless sample; keep the log finite
      return tf.neg(tf.mean<tf.Scalar>(tf.log(tf.maximum(own, 1e-30))));
    });
  }

  /** Class of each row: the class whose sub-clusters hold the most probability. */
  predict(embeddings: tf.Tensor2D): Int32Array {
    const idx = tf.tidy(() => tf.argMax(this.classProbabilities(cosineLogits(embeddings, this.centres), this.scale), 1));
    const out = Int32Array.from(idx.dataSync());
    idx.dispose();
    return out;
  }

  dispose(): void {
    this.centres.dispose();
  }
}
