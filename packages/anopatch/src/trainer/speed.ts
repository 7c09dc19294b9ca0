import * as tf from '@tensorflow/tfjs-core';

import { ArcFaceHead, arcFace } from '@anopatch/arcface';
import { Rng } from '@anopatch/audio-features';

import type { AnoPatchModel } from '../model/model.js';
import { AdamW } from '../optim/adamw.js';

export interface TrainSpeedOptions {
  model: AnoPatchModel;
  /** Clips per step. */
  batchSize: number;
  /** Frames per clip (998 = 10 s); a waveform backbone gets the shortest waveform with that many Kaldi frames ((frames - 1) * 160 + 400 samples). */
  frames: number;
  /** Timed optimizer steps (after `warmupSteps` untimed ones). Default 3. */
  steps?: number;
  warmupSteps?: number;
  numClasses?: number;
  seed?: number;
}

export interface TrainSpeed {
  batchSize: number;
  frames: number;
  /** Input shape of one step: [batch, frames, 128] fbank or [batch, samples] waveform. */
  inputShape: number[];
  steps: number;
  /** Optimizer steps per second (one micro-batch per step: forward, backward, AdamW). */
  stepsPerSec: number;
  clipsPerSec: number;
  /** Mean seconds per step. */
  secondsPerStep: number;
  backend: string;
}

/**
 * Training throughput of one model on random inputs: the same forward, ArcFace loss, gradient and
 * AdamW update as a training step, without data loading or checkpoints. For the benchmark and the
 * README numbers; never asserted in tests.
 */
export async function measureTrainSpeed(options: TrainSpeedOptions): Promise<TrainSpeed> {
  const { model, batchSize, frames } = options;
  const steps = options.steps ?? 3;
  const warmup = options.warmupSteps ?? 1;
  const numClasses = options.numClasses ?? 41;
  const rng = new Rng(options.seed ?? 0);
  const head = new ArcFaceHead({ embedDim: model.config.head.embedDim, numClasses }, { seed: 1 });
  const params = model.trainableParams();
  params.set(head.paramName, head.weight);
  const optimizer = new AdamW(params);
  const byVariable = new Map([...params].map(([name, v]) => [v.name, name]));
  // the same audio length for either front end: 25 ms Kaldi windows every 10 ms at 16 kHz
  const inputShape = model.backbone.frontEnd === 'waveform' ? [batchSize, (frames - 1) * 160 + 400] : [batchSize, frames, 128];
  const size = inputShape.reduce((a, b) => a * b, 1);
  const step = async () => {
    const data = Float32Array.from({ length: size }, () => rng.normal());
    const labels = Int32Array.from({ length: batchSize }, () => rng.int(numClasses));
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor(data, inputShape);
      return tf.variableGrads(() => {
        const out = model.forward(x, { training: true, random: () => rng.next() });
        return arcFace(out.embedding, head.weight, labels).loss;
      }, [...params.values()]);
    });
    const named = new Map(Object.entries(grads).map(([k, g]) => [byVariable.get(k)!, g]));
    optimizer.apply(named, 1e-5);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  try {
    for (let i = 0; i < warmup; i++) await step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    const seconds = (performance.now() - t0) / 1000;
    return { batchSize, frames, inputShape, steps, stepsPerSec: steps / seconds, clipsPerSec: (steps * batchSize) / seconds, secondsPerStep: seconds / steps, backend: tf.getBackend() };
  } finally {
    optimizer.dispose();
    head.dispose();
  }
}
