import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import type { ArcFaceHead, SubClusterAdaCos } from '@anopatch/arcface';
import { Rng } from '@anopatch/audio-features';

import { latestCheckpoint, readCheckpoint, writeCheckpoint, type TrainingState } from '../checkpointing/checkpoint.js';
import { CheckpointError, TrainConfigError, TrainDataError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';
import { saveModel } from '../io/model-files.js';
import type { AnoPatchModel } from '../model/model.js';
import { AdamW } from '../optim/adamw.js';
import { learningRate } from '../optim/schedule.js';
import { createClassifier } from './classifier.js';
import { resolveTrainConfig, type TrainConfig, type TrainConfigOverrides } from './config.js';
import { EpochSampler, makeBatch, type ClipSource } from './data.js';

export const RUN_JSON = 'run.json';
export const TRAIN_LOG = 'train.jsonl';

/** One line of train.jsonl and what onProgress receives after each optimizer step. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Mean ArcFace loss over the step's micro-batches. */
  loss: number;
  /** Share of the step's clips whose nearest class centre (no margin) is their class. */
  accuracy: number;
  /** Learning rate used by this step. */
  lr: number;
  /** Throughput of this step. */
  clipsPerSec: number;
  stepsPerSec: number;
  /** Seconds since this call started. */
  elapsed: number;
}

export interface TrainOptions {
  model: AnoPatchModel;
  data: ClipSource;
  /** Overrides of PAPER_TRAIN_CONFIG. Ignored on resume except totalSteps / checkpointEvery / keepCheckpoints; other differences are an error. */
  config?: TrainConfigOverrides;
  /** Run directory (checkpoints, logs, the final model). */
  outDir: string;
  /** Continue from outDir's latest checkpoint (error if there is none). */
  resume?: boolean;
  /** Class names (index = label), stored with the model. */
  classNames?: string[];
  /** Stop cleanly: the current step is dropped, a checkpoint of the last finished step is written. */
  signal?: AbortSignal;
  /** Turn SIGINT (Ctrl-C) into `signal` for the duration of the call. */
  handleSigint?: boolean;
  /** Stop after this many optimizer steps in this call (a checkpoint is written there). */
  maxStepsThisCall?: number;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainResult {
  /** Optimizer steps done in total (including before a resume). */
  step: number;
  /** True when stopped by the signal / SIGINT / maxStepsThisCall before totalSteps. */
  stopped: boolean;
  /** Losses of the steps run in this call, in order. */
  losses: number[];
  /** Directory of the last checkpoint written. */
  checkpoint: string | undefined;
  /** The trained head: ArcFaceHead, or SubClusterAdaCos with `loss: 'subClusterAdaCos'` (caller disposes). */
  head: ArcFaceHead | SubClusterAdaCos;
  config: TrainConfig;
}

/** Fields that may change between a run and its resumption. */
const RESUMABLE_CHANGES = new Set(['totalSteps', 'checkpointEvery', 'keepCheckpoints']);

/**
 * Fine-tune `model` with ArcFace on `data` (AdamW, warmup + decay, gradient accumulation,
 * SpecAugment, seeded shuffling/crops), writing checkpoints and train.jsonl to `outDir`. `data`
 * yields what the backbone reads (`model.backbone.frontEnd`): fbanks, or 16 kHz waveforms, which
 * are cropped/padded in samples (`crop.samples`) and never SpecAugmented (any `specAugment`
 * setting is ignored and recorded as null). Layer drop and dropout
 * draw from one checkpointed generator, so resume is exact with dropout > 0 too.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { model, data, outDir } = options;
  if (data.size < 1) throw new TrainDataError('training data', 'no training clips');
  if (data.numClasses < 2) throw new TrainDataError('training data', `ArcFace needs at least 2 classes, got ${data.numClasses}`);
  mkdirSync(outDir, { recursive: true });

  const frontEnd = model.backbone.frontEnd;
  // SpecAugment masks fbank frames and bins: a waveform backbone has none, so it trains without (as
  // the paper's Table 3 runs all backbones); null is what run.json and the checkpoints record, and a
  // resumed run's SpecAugment setting is ignored the same way, so it never looks like a recipe change
  const overrides: TrainConfigOverrides = frontEnd === 'waveform' ? { ...options.config, specAugment: null } : (options.config ?? {});
  let config = resolveTrainConfig(overrides);
  const ckptDir = options.resume ? latestCheckpoint(outDir) : undefined;
  if (options.resume && !ckptDir) throw new CheckpointError(outDir, 'nothing to resume: no checkpoints/latest.json (start without --resume)');
  if (!options.resume && latestCheckpoint(outDir)) {
    throw new CheckpointError(outDir, 'already holds a training run; resume it (--resume) or choose another output directory');
  }
  const ckpt = ckptDir ? readCheckpoint(ckptDir) : undefined;
  if (ckpt) config = reconcileConfig(ckpt.state.config as TrainConfig, overrides, config, ckptDir!);

  const classifier = createClassifier(config, model.config.head.embedDim, data.numClasses);
  const head = classifier.head;
  const params = model.trainableParams();
  for (const [name, v] of classifier.trainable) params.set(name, v);
  const optimizer = new AdamW(params, config.adamw);
  const byVariable = new Map([...params].map(([name, v]) => [v.name, name]));

  let step = 0;
  let clips = 0;
  let sampler = new EpochSampler(data.size, config.seed);
  let augmentRng = new Rng(config.seed + 1);
  let modelRng = new Rng(config.seed + 2);
  if (ckpt) {
    classifier.restore(ckpt.model, ckpt.state.classifier, join(ckptDir!, 'model.safetensors'));
    model.loadState(ckpt.model, join(ckptDir!, 'model.safetensors'));
    optimizer.setState({ steps: ckpt.state.optimizerSteps, tensors: ckpt.optimizer }, join(ckptDir!, 'optimizer.safetensors'));
    step = ckpt.state.step;
    clips = ckpt.state.clips;
    model.numBatchesTracked = ckpt.state.numBatchesTracked;
    sampler = new EpochSampler(data.size, config.seed, ckpt.state.sampler);
    augmentRng = Rng.fromState(ckpt.state.augmentRng);
    modelRng = Rng.fromState(ckpt.state.modelRng);
    truncateLog(join(outDir, TRAIN_LOG), step);
  } else {
    writeFileAtomic(join(outDir, TRAIN_LOG), '');
  }
  writeJsonAtomic(join(outDir, RUN_JSON), {
    format: 'anopatch-train-run',
    version: 1,
    config,
    model: model.config,
    numClasses: data.numClasses,
    ...(options.classNames ? { classes: options.classNames } : {}),
  });

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) controller.abort();
  const onSigint = () => controller.abort();
  if (options.handleSigint) process.on('SIGINT', onSigint);

  const losses: number[] = [];
  let lastCheckpoint: string | undefined = ckptDir;
  let savedStep = ckpt ? step : -1;
  const started = performance.now();
  const stepsAtStart = step;

  const snapshot = (): TrainingState => ({
    version: 1,
    step,
    clips,
    optimizerSteps: {},
    numBatchesTracked: model.numBatchesTracked,
    sampler: sampler.state,
    augmentRng: augmentRng.state,
    modelRng: modelRng.state,
    classifier: classifier.plainState(),
    config,
  });
  const save = async (state: TrainingState) => {
    const modelTensors = await model.state();
    for (const [name, t] of await classifier.tensors()) modelTensors.set(name, t);
    const opt = await optimizer.getState();
    lastCheckpoint = writeCheckpoint(outDir, { model: modelTensors, optimizer: opt.tensors, state: { ...state, optimizerSteps: opt.steps } }, config.keepCheckpoints);
    savedStep = state.step;
  };

  let stopped = false;
  try {
    while (step < config.totalSteps) {
      if (controller.signal.aborted || (options.maxStepsThisCall !== undefined && step - stepsAtStart >= options.maxStepsThisCall)) {
        stopped = true;
        break;
      }
      const before = snapshot();
      const t0 = performance.now();
      const accum = new Map<string, tf.Tensor>();
      const bnStats: { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number }[] = [];
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let aborted = false;
      for (let micro = 0; micro < config.gradAccum; micro++) {
        if (controller.signal.aborted) {
          aborted = true;
          break;
        }
        const indices = Array.from({ length: config.batchSize }, () => sampler.next());
        const batch = await makeBatch(data, indices, { policy: config.crop, specAugment: config.specAugment, frontEnd }, augmentRng);
        const random = () => modelRng.next();
        const captured: { stats?: (typeof bnStats)[number]; embedding?: tf.Tensor2D } = {};
        const { value, grads } = tf.tidy(() => {
          const x = tf.tensor(batch.data, batch.shape);
          const labels = tf.tensor1d(batch.labels, 'int32');
          return tf.variableGrads(() => {
            const out = model.forward(x, { training: true, random });
            if (out.batchStats) captured.stats = { mean: tf.keep(out.batchStats.mean), variance: tf.keep(out.batchStats.variance), count: out.batchStats.count };
            captured.embedding = tf.keep(out.embedding);
            return tf.div(classifier.loss(out.embedding, labels, batch.labels), config.gradAccum);
          }, [...params.values()]);
        });
        if (captured.stats) bnStats.push(captured.stats);
        for (const [varName, g] of Object.entries(grads)) {
          const name = byVariable.get(varName)!;
          const prev = accum.get(name);
          if (prev) {
            accum.set(name, tf.add(prev, g));
            prev.dispose();
            g.dispose();
          } else {
            accum.set(name, g);
          }
        }
        lossSum += (await value.data())[0]! * config.gradAccum;
        value.dispose();
        const predicted = classifier.predict(captured.embedding!);
        captured.embedding!.dispose();
        batch.labels.forEach((y, i) => (correct += predicted[i] === y ? 1 : 0));
        seen += batch.labels.length;
      }
      if (aborted) {
        // drop the unfinished step: the checkpoint must sit on a step boundary to resume exactly
        tf.dispose([...accum.values()]);
        for (const s of bnStats) tf.dispose([s.mean, s.variance]);
        sampler = new EpochSampler(data.size, config.seed, before.sampler);
        augmentRng = Rng.fromState(before.augmentRng);
        modelRng = Rng.fromState(before.modelRng);
        classifier.restore(await classifier.tensors(), before.classifier, 'interrupted step');
        stopped = true;
        break;
      }
      const lr = learningRate(step, { lr: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.totalSteps, decay: config.decay, minLrRatio: config.minLrRatio });
      optimizer.apply(accum, lr);
      tf.dispose([...accum.values()]);
      // running statistics do not enter the training forward, so applying them at the step's end equals PyTorch's per-batch update
      for (const s of bnStats) {
        model.updateBatchNorm(s);
        tf.dispose([s.mean, s.variance]);
      }
      step += 1;
      clips += seen;
      const loss = lossSum / config.gradAccum;
      losses.push(loss);
      const seconds = (performance.now() - t0) / 1000;
      const progress: TrainProgress = {
        step,
        totalSteps: config.totalSteps,
        epoch: sampler.currentEpoch,
        loss,
        accuracy: correct / seen,
        lr,
        clipsPerSec: seen / seconds,
        stepsPerSec: 1 / seconds,
        elapsed: (performance.now() - started) / 1000,
      };
      appendLog(join(outDir, TRAIN_LOG), progress);
      options.onProgress?.(progress);
      if (step % config.checkpointEvery === 0 || step === config.totalSteps) await save(snapshot());
    }
    if (step > savedStep) await save(snapshot());
    if (step >= config.totalSteps) {
      await saveModel(outDir, model, {
        tensors: await classifier.tensors(),
        ...(options.classNames ? { classes: options.classNames } : {}),
        ...(config.loss === 'arcface'
          ? { arcface: { ...config.arcface, numClasses: data.numClasses } }
          : { adacos: { subClusters: config.adacos.subClusters, scale: (head as SubClusterAdaCos).scale, numClasses: data.numClasses } }),
      });
    }
  } catch (err) {
    head.dispose();
    throw err;
  } finally {
    optimizer.dispose();
    options.signal?.removeEventListener('abort', onAbort);
    if (options.handleSigint) process.off('SIGINT', onSigint);
  }
  return { step, stopped, losses, checkpoint: lastCheckpoint, head, config };
}

function reconcileConfig(saved: TrainConfig, overrides: TrainConfigOverrides, resolved: TrainConfig, dir: string): TrainConfig {
  // runs saved before a field existed get its default
  const merged: TrainConfig = resolveTrainConfig(saved, join(dir, 'state.json'));
  for (const key of Object.keys(overrides) as (keyof TrainConfig)[]) {
    if (RESUMABLE_CHANGES.has(key)) {
      (merged as unknown as Record<string, unknown>)[key] = resolved[key];
    } else if (JSON.stringify(resolved[key]) !== JSON.stringify(saved[key])) {
      throw new TrainConfigError(join(dir, 'state.json'), `the run was started with ${key} = ${JSON.stringify(saved[key])}; a resumed run cannot change it to ${JSON.stringify(resolved[key])}`);
    }
  }
  return merged;
}

function appendLog(path: string, p: TrainProgress): void {
  // appended, not rewritten (it grows to one line per step); a torn last line is dropped on resume by truncateLog
  appendFileSync(path, `${JSON.stringify({ ...p, time: new Date().toISOString() })}\n`);
}

/** Keep log lines up to `step` (a run resumed from an earlier checkpoint redoes the later ones). */
function truncateLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
}

