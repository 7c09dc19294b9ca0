import * as tf from '@tensorflow/tfjs-core';

import { ArcFaceHead, SubClusterAdaCos, arcFaceLoss } from '@anopatch/arcface';
import type { TensorData } from '@anopatch/runtime';

import { CheckpointError } from '../errors.js';
import type { TrainConfig } from './config.js';

/** The training head behind the loss: ArcFace (the paper) or sub-cluster AdaCos. */
export interface TrainClassifier {
  readonly kind: TrainConfig['loss'];
  readonly head: ArcFaceHead | SubClusterAdaCos;
  /** Variables the optimizer updates besides the model's, by checkpoint name. */
  readonly trainable: Map<string, tf.Variable>;
  /** Mean loss of a training micro-batch (may update non-gradient state such as AdaCos' scale). */
  loss(embedding: tf.Tensor2D, labels: tf.Tensor1D, labelValues: Int32Array): tf.Scalar;
  /** Nearest class per row (no margin). */
  predict(embedding: tf.Tensor2D): Int32Array;
  /** Tensors for checkpoints and the saved model. */
  tensors(): Promise<Map<string, TensorData>>;
  /** Plain-number state (AdaCos' scale) for checkpoints. */
  plainState(): Record<string, number>;
  restore(tensors: ReadonlyMap<string, TensorData>, plain: Record<string, number> | undefined, source: string): void;
}

export const ARCFACE_WEIGHT = 'arcface.weight';
export const ADACOS_CENTRES = 'adacos.centres';

export function createClassifier(config: TrainConfig, embedDim: number, numClasses: number): TrainClassifier {
  const seed = config.seed + 7;
  if (config.loss === 'subClusterAdaCos') {
    const head = new SubClusterAdaCos({ embedDim, numClasses, subClusters: config.adacos.subClusters }, { seed });
    return {
      kind: 'subClusterAdaCos',
      head,
      trainable: new Map(),
      loss: (e, _labels, values) => head.loss(e, values, { training: true }),
      predict: (e) => head.predict(e),
      tensors: async () => new Map([[ADACOS_CENTRES, { shape: [...head.centres.shape], data: (await head.centres.data()) as Float32Array }]]),
      plainState: () => ({ scale: head.scale }),
      restore(tensors, plain, source) {
        const c = tensors.get(ADACOS_CENTRES);
        if (!c || c.shape[0] !== embedDim || c.shape[1] !== head.centres.shape[1]) {
          throw new CheckpointError(source, `'${ADACOS_CENTRES}' is missing or not [${embedDim}, ${head.centres.shape[1]}] (did the classes change?)`);
        }
        if (typeof plain?.scale !== 'number') throw new CheckpointError(source, 'no AdaCos scale in the training state');
        tf.tidy(() => head.centres.assign(tf.tensor2d(c.data, head.centres.shape)));
        head.scale = plain.scale;
      },
    };
  }
  const head = new ArcFaceHead({ embedDim, numClasses, ...config.arcface }, { seed, name: ARCFACE_WEIGHT });
  return {
    kind: 'arcface',
    head,
    trainable: new Map([[ARCFACE_WEIGHT, head.weight]]),
    loss: (e, labels) => arcFaceLoss(e, head.weight, labels, config.arcface),
    predict: (e) => head.predict(e),
    tensors: async () => new Map([[ARCFACE_WEIGHT, { shape: [...head.weight.shape], data: (await head.weight.data()) as Float32Array }]]),
    plainState: () => ({}),
    restore(tensors, _plain, source) {
      const w = tensors.get(ARCFACE_WEIGHT);
      if (!w || w.shape[0] !== embedDim || w.shape[1] !== numClasses) {
        throw new CheckpointError(source, `'${ARCFACE_WEIGHT}' is missing or not [${embedDim}, ${numClasses}] (did the classes change?)`);
      }
      tf.tidy(() => head.weight.assign(tf.tensor2d(w.data, [embedDim, numClasses])));
    },
  };
}
