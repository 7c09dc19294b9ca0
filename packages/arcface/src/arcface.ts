import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; @anopatch/runtime registers them all (through the @tensorflow/tfjs
// bundle: tfjs-core's own register_all_gradients.js has extensionless imports that Node's ESM loader rejects)
import '@anopatch/runtime';

/**
 * How the target logit gets its margin.
 * - `'paper'`: s * cos(theta_y + m) with theta = acos(clamp(cos, -1 + 1e-7, 1 - 1e-7)) (the paper's Eq. 1).
 *   Past theta_y + m > pi the target logit rises again, so a sample far from its class is pulled
 *   the wrong way; usually harmless, but see the other variant.
 * - `'easyMarginFalse'`: the widely used ArcMarginProduct code (insightface, arcface-pytorch,
 *   most DCASE systems): phi = cos*cos(m) - sin*sin(m) where cos > cos(pi - m), else
 *   cos - sin(pi - m)*m, which keeps the target logit monotone in theta.
 */
export type ArcFaceVariant = 'paper' | 'easyMarginFalse';

export interface ArcFaceOptions {
  /** Scale s. Default 30. */
  scale?: number;
  /** Additive angular margin m (radians). Default 0.7. */
  margin?: number;
  /** Default `'paper'`. */
  variant?: ArcFaceVariant;
}

export const ARCFACE_DEFAULTS: Required<ArcFaceOptions> = { scale: 30, margin: 0.7, variant: 'paper' };

/** Configuration is wrong (sizes, labels out of range, bad s/m). */
export class ArcFaceConfigError extends Error {
  override name = 'ArcFaceConfigError';
}

/** The paper's clamp keeps acos (and its derivative -1/sqrt(1 - c^2)) finite. */
const COS_EPS = 1e-7;
/** F.normalize's eps: a zero row stays zero instead of becoming NaN. */
const NORM_EPS = 1e-12;

/** Rows of x [N, D] scaled to unit L2 norm (as torch.nn.functional.normalize, eps 1e-12). */
export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), 1, true));
    return tf.div(x, tf.maximum(norm, NORM_EPS));
  });
}

/** cos[i, j] = <x_i / |x_i|, W_:j / |W_:j|> for x [N, D] and W [D, C] (class j = column j). */
export function cosineLogits(embeddings: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const x = l2NormalizeRows(embeddings);
    const wNorm = tf.sqrt(tf.sum(tf.square(weight), 0, true));
    const w = tf.div(weight, tf.maximum(wNorm, NORM_EPS));
    return tf.matMul(x, w);
  });
}

/**
 * The margin-adjusted target cosine for cosines `cos` (any shape).
 * Written as cos*cos(m) - sin(theta)*sin(m) for both variants: for theta in [0, pi] it equals
 * cos(theta + m) exactly, and its gradient is the one acos would give without needing an Acos
 * kernel (wasm lacks some) or its 1/sqrt(1 - c^2) blow-up outside the clamp.
 */
export function marginCosine(cos: tf.Tensor, margin: number, variant: ArcFaceVariant): tf.Tensor {
  return tf.tidy(() => {
    const cosM = Math.cos(margin);
    const sinM = Math.sin(margin);
    if (variant === 'paper') {
      const c = tf.clipByValue(cos, -1 + COS_EPS, 1 - COS_EPS);
      const sin = tf.sqrt(tf.sub(1, tf.square(c)));
      return tf.sub(tf.mul(c, cosM), tf.mul(sin, sinM));
    }
    // clamp(1 - cos^2, 0, 1) as the reference code, but with a floor that keeps sqrt's gradient finite
    // when |cos| = 1 exactly (a zero-gradient corner instead of NaN)
    const sin = tf.sqrt(tf.clipByValue(tf.sub(1, tf.square(cos)), 1e-12, 1));
    const phi = tf.sub(tf.mul(cos, cosM), tf.mul(sin, sinM));
    const th = Math.cos(Math.PI - margin);
    const mm = Math.sin(Math.PI - margin) * margin;
    // step() instead of greater(): Greater has no registered gradient and sits on the tape here
    const keep = tf.cast(tf.step(tf.sub(cos, th)), 'bool');
    return tf.where(keep, phi, tf.sub(cos, mm));
  });
}

function labelTensor(labels: tf.Tensor1D | ArrayLike<number>, numClasses: number, n: number): tf.Tensor1D {
  if (labels instanceof tf.Tensor) {
    if (labels.shape[0] !== n) throw new ArcFaceConfigError(`ArcFace: ${labels.shape[0]} labels for ${n} embeddings`);
    return labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
  }
  if (labels.length !== n) throw new ArcFaceConfigError(`ArcFace: ${labels.length} labels for ${n} embeddings`);
  const ints = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new ArcFaceConfigError(`ArcFace: label ${y} at position ${i} is not a class index in [0, ${numClasses})`);
    }
    ints[i] = y;
  }
  return tf.tensor1d(ints, 'int32');
}

export interface ArcFaceOutputs {
  /** Plain cosines [N, C]. */
  cos: tf.Tensor2D;
  /** s * cos with the margin applied to each row's target column [N, C]. */
  logits: tf.Tensor2D;
  /** Mean cross-entropy of `logits` (scalar). */
  loss: tf.Scalar;
}

/**
 * ArcFace logits and loss as a pure function of its inputs (differentiable in embeddings and W).
 * Labels are class indices (int32 tensor or numbers).
 */
export function arcFace(
  embeddings: tf.Tensor2D,
  weight: tf.Tensor2D,
  labels: tf.Tensor1D | ArrayLike<number>,
  options: ArcFaceOptions = {},
): ArcFaceOutputs {
  const { scale, margin, variant } = { ...ARCFACE_DEFAULTS, ...options };
  const [n, dim] = embeddings.shape;
  const [wDim, numClasses] = weight.shape;
  if (dim !== wDim) throw new ArcFaceConfigError(`ArcFace: embeddings have ${dim} dims but W is [${wDim}, ${numClasses}]`);
  return tf.tidy(() => {
    const y = labelTensor(labels, numClasses, n);
    const cos = cosineLogits(embeddings, weight);
    const target = marginCosine(cos, margin, variant);
    const oneHot = tf.cast(tf.oneHot(y, numClasses), 'bool');
    const logits = tf.mul<tf.Tensor2D>(tf.where(oneHot, target, cos), scale);
    const logp = tf.logSoftmax(logits, 1);
    const loss = tf.neg(tf.mean(tf.sum(tf.where(oneHot, logp, tf.zerosLike(logp)), 1))) as tf.Scalar;
    return { cos, logits, loss };
  });
}

/** ArcFace loss only (what a training step differentiates). */
export function arcFaceLoss(
  embeddings: tf.Tensor2D,
  weight: tf.Tensor2D,
  labels: tf.Tensor1D | ArrayLike<number>,
  options: ArcFaceOptions = {},
): tf.Scalar {
  return tf.tidy(() => arcFace(embeddings, weight, labels, options).loss);
}

export interface ArcFaceHeadConfig extends ArcFaceOptions {
  embedDim: number;
  numClasses: number;
}

/**
 * ArcFace classification head: a trainable class-centre matrix W [embedDim, numClasses]
 * (class j = column j) plus s, m and the margin variant.
 */
export class ArcFaceHead {
  readonly embedDim: number;
  readonly numClasses: number;
  readonly scale: number;
  readonly margin: number;
  readonly variant: ArcFaceVariant;
  /** Trainable W [embedDim, numClasses]. */
  readonly weight: tf.Variable<tf.Rank.R2>;
  /** The name W has in checkpoints (`arcface.weight` unless given). */
  readonly paramName: string;

  constructor(config: ArcFaceHeadConfig, init: { weight?: tf.Tensor2D | Float32Array; seed?: number; name?: string } = {}) {
    const { scale, margin, variant } = { ...ARCFACE_DEFAULTS, ...config };
    const { embedDim, numClasses } = config;
    if (!Number.isInteger(embedDim) || embedDim < 1) throw new ArcFaceConfigError(`ArcFaceHead: embedDim must be a positive integer, got ${embedDim}`);
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new ArcFaceConfigError(`ArcFaceHead: numClasses must be an integer >= 2, got ${numClasses}`);
    if (!(scale > 0)) throw new ArcFaceConfigError(`ArcFaceHead: scale must be > 0, got ${scale}`);
    if (!(margin >= 0 && margin < Math.PI / 2)) throw new ArcFaceConfigError(`ArcFaceHead: margin must be in [0, pi/2), got ${margin}`);
    this.embedDim = embedDim;
    this.numClasses = numClasses;
    this.scale = scale;
    this.margin = margin;
    this.variant = variant;
    this.paramName = init.name ?? 'arcface.weight';
    const initial = tf.tidy(() => {
      if (init.weight instanceof tf.Tensor) {
        if (init.weight.shape[0] !== embedDim || init.weight.shape[1] !== numClasses) {
          throw new ArcFaceConfigError(`ArcFaceHead: weight is [${init.weight.shape.join(', ')}], expected [${embedDim}, ${numClasses}]`);
        }
        return init.weight.clone();
      }
      if (init.weight) {
        if (init.weight.length !== embedDim * numClasses) {
          throw new ArcFaceConfigError(`ArcFaceHead: weight has ${init.weight.length} values, expected ${embedDim * numClasses}`);
        }
        return tf.tensor2d(init.weight, [embedDim, numClasses]);
      }
      // xavier-uniform as nn.init.xavier_uniform_ on the [C, D] weight of ArcMarginProduct
      const bound = Math.sqrt(6 / (embedDim + numClasses));
      return tf.randomUniform<tf.Rank.R2>([embedDim, numClasses], -bound, bound, 'float32', init.seed ?? 0);
    });
    this.weight = tf.variable(initial, true);
    initial.dispose();
  }

  get options(): Required<ArcFaceOptions> {
    return { scale: this.scale, margin: this.margin, variant: this.variant };
  }

  forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D | ArrayLike<number>): ArcFaceOutputs {
    return arcFace(embeddings, this.weight, labels, this.options);
  }

  loss(embeddings: tf.Tensor2D, labels: tf.Tensor1D | ArrayLike<number>): tf.Scalar {
    return arcFaceLoss(embeddings, this.weight, labels, this.options);
  }

  /** Cosine to every class centre [N, C] (no margin: what inference and accuracy use). */
  cosine(embeddings: tf.Tensor2D): tf.Tensor2D {
    return cosineLogits(embeddings, this.weight);
  }

  /** Index of the nearest class centre per row. */
  predict(embeddings: tf.Tensor2D): Int32Array {
    const idx = tf.tidy(() => tf.argMax(this.cosine(embeddings), 1));
    const out = idx.dataSync() as Int32Array;
    idx.dispose();
    return Int32Array.from(out);
  }

  dispose(): void {
    this.weight.dispose();
  }
}
