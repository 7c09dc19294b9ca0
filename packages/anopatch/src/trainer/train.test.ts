import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import type { ArcFaceHead, SubClusterAdaCos } from '@anopatch/arcface';
import { initBackend } from '@anopatch/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CheckpointError, TrainConfigError } from '../errors.js';
import { loadModel } from '../io/model-files.js';
import { arrayClipSource } from './data.js';
import { syntheticClips, tinyModel } from './synthetic.test-helpers.js';
import { train, type TrainProgress } from './train.js';
import type { TrainConfigOverrides } from './config.js';

const NUM_CLASSES = 4;
const clips = syntheticClips(NUM_CLASSES, 6, 64, 11);

/** Small enough for CI on wasm: 64-frame crops (32 patches), batch 8. */
const tinyConfig: TrainConfigOverrides = {
  lr: 2e-3,
  warmupSteps: 2,
  totalSteps: 40,
  decay: 'cosine',
  batchSize: 8,
  gradAccum: 1,
  crop: { frames: 64 },
  specAugment: { freqMaskParam: 8, timeMaskParam: 8, numFreqMasks: 1, numTimeMasks: 1 },
  arcface: { scale: 16, margin: 0.3 },
  seed: 3,
  checkpointEvery: 8,
};

describe('train (tiny BEATs fixture on generated classes)', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'anopatch-train-'));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', env: {} });
  });
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('drives the ArcFace loss down and classifies its training classes well above chance; no tensor leak per step', async () => {
    const model = tinyModel();
    const outDir = tmp();
    const memory: number[] = [];
    const progress: TrainProgress[] = [];
    const result = await train({
      model,
      data: arrayClipSource(clips),
      config: tinyConfig,
      outDir,
      classNames: ['a', 'b', 'c', 'd'],
      onProgress: (p) => {
        progress.push(p);
        memory.push(tf.memory().numTensors);
      },
    });
    expect(result.step).toBe(40);
    expect(result.stopped).toBe(false);
    // single steps are noisy (batch 8 of 4 classes): compare the first and last five
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(result.losses.slice(-5))).toBeLessThan(0.5 * mean(result.losses.slice(0, 5)));
    // tensors do not accumulate across steps
    expect(new Set(memory.slice(1)).size).toBe(1);
    // lr follows warmup then decay
    expect(progress[0]!.lr).toBe(0);
    expect(progress[2]!.lr).toBeCloseTo(2e-3, 12);
    expect(progress[39]!.lr).toBeLessThan(1e-5);

    // inference-mode embeddings of the (uncropped, unaugmented) training clips -> nearest class centre
    const rows = model.embed(clips.map((c) => c.fbank));
    const x = tf.tensor2d(rows.flatMap((r) => Array.from(r)), [rows.length, 16]);
    const predicted = result.head.predict(x);
    const accuracy = clips.filter((c, i) => predicted[i] === c.label).length / clips.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.9); // chance: 0.25
    x.dispose();

    // run layout: log, run.json, checkpoints, final model
    const log = readFileSync(join(outDir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainProgress);
    expect(log.map((l) => l.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(log[5]!.loss).toBe(result.losses[5]);
    expect(existsSync(join(outDir, 'run.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(outDir, 'checkpoints', 'latest.json'), 'utf8'))).toEqual({ step: 40, dir: 'step-00000040' });
    expect(existsSync(join(outDir, 'checkpoints', 'step-00000024'))).toBe(false); // keepCheckpoints 2
    expect(existsSync(join(outDir, 'checkpoints', 'step-00000032'))).toBe(true);
    const saved = loadModel(outDir);
    expect(saved.file.classes).toEqual(['a', 'b', 'c', 'd']);
    expect(saved.arcfaceWeight!.shape).toEqual([16, NUM_CLASSES]);
    expect(Array.from(saved.model.embed([clips[0]!.fbank])[0]!)).toEqual(Array.from(rows[0]!));
    saved.model.dispose();
    result.head.dispose();
    model.dispose();
  });

  it('resume continues bit for bit: the same losses and weights as an uninterrupted run (with accumulation, SpecAugment, interrupt mid-run)', async () => {
    const config: TrainConfigOverrides = { ...tinyConfig, totalSteps: 6, gradAccum: 2, batchSize: 4, checkpointEvery: 2 };
    const full = await train({ model: tinyModel(), data: arrayClipSource(clips), config, outDir: tmp() });

    const outDir = tmp();
    const modelA = tinyModel();
    const first = await train({ model: modelA, data: arrayClipSource(clips), config, outDir, maxStepsThisCall: 3 });
    expect(first.stopped).toBe(true);
    expect(first.step).toBe(3);
    expect(first.checkpoint).toMatch(/step-00000003$/);
    first.head.dispose();
    modelA.dispose();
    // a fresh process would rebuild the model the same way; nothing carries over but the files
    const modelB = tinyModel({ seed: 99 });
    await expect(train({ model: modelB, data: arrayClipSource(clips), config, outDir })).rejects.toThrow(CheckpointError);
    const controller = new AbortController();
    const second = await train({
      model: modelB,
      data: arrayClipSource(clips),
      config,
      outDir,
      resume: true,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 4) controller.abort(); // Ctrl-C: save and return
      },
    });
    expect(second.stopped).toBe(true);
    expect(second.step).toBe(4);
    second.head.dispose();
    const third = await train({ model: modelB, data: arrayClipSource(clips), config, outDir, resume: true });
    expect(third.step).toBe(6);
    expect([...first.losses, ...second.losses, ...third.losses]).toEqual(full.losses);
    expect(Array.from((third.head as ArcFaceHead).weight.dataSync())).toEqual(Array.from((full.head as ArcFaceHead).weight.dataSync()));
    const log = readFileSync(join(outDir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as TrainProgress).loss);
    expect(log).toEqual(full.losses);
    third.head.dispose();
    full.head.dispose();
    modelB.dispose();
  });

  it('sub-cluster AdaCos as the loss: trains end to end and resumes bit for bit (its adaptive scale is checkpointed)', async () => {
    const config: TrainConfigOverrides = { ...tinyConfig, totalSteps: 6, loss: 'subClusterAdaCos', adacos: { subClusters: 2 } };
    const full = await train({ model: tinyModel(), data: arrayClipSource(clips), config, outDir: tmp() });
    const outDir = tmp();
    const model = tinyModel();
    const a = await train({ model, data: arrayClipSource(clips), config, outDir, maxStepsThisCall: 4 });
    const b = await train({ model, data: arrayClipSource(clips), config, outDir, resume: true });
    expect([...a.losses, ...b.losses]).toEqual(full.losses);
    const scale = (b.head as SubClusterAdaCos).scale;
    expect(scale).toBe((full.head as SubClusterAdaCos).scale);
    expect(scale).not.toBeCloseTo(Math.SQRT2 * Math.log(4 * 2 - 1), 3); // it adapted
    const saved = loadModel(outDir);
    expect(saved.file.adacos).toEqual({ subClusters: 2, scale, numClasses: NUM_CLASSES });
    saved.model.dispose();
    [full.head, a.head, b.head].forEach((h) => h.dispose());
    model.dispose();
  });

  it('Ctrl-C (SIGINT) with handleSigint: saves the last finished step, returns, and removes its handler', async () => {
    const outDir = tmp();
    const model = tinyModel();
    const listeners = process.listenerCount('SIGINT');
    const r = await train({
      model,
      data: arrayClipSource(clips),
      config: { ...tinyConfig, totalSteps: 10 },
      outDir,
      handleSigint: true,
      onProgress: (p) => {
        if (p.step === 2) process.emit('SIGINT', 'SIGINT');
      },
    });
    expect(r.stopped).toBe(true);
    expect(r.step).toBe(2);
    expect(JSON.parse(readFileSync(join(outDir, 'checkpoints', 'latest.json'), 'utf8'))).toEqual({ step: 2, dir: 'step-00000002' });
    expect(existsSync(join(outDir, 'model.json'))).toBe(false); // not finished: no final model
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    r.head.dispose();
    model.dispose();
  });

  it('refuses to resume with a different recipe, or without a checkpoint', async () => {
    const outDir = tmp();
    const model = tinyModel();
    const r = await train({ model, data: arrayClipSource(clips), config: { ...tinyConfig, totalSteps: 1 }, outDir });
    r.head.dispose();
    await expect(train({ model, data: arrayClipSource(clips), config: { ...tinyConfig, lr: 1 }, outDir, resume: true })).rejects.toThrow(TrainConfigError);
    await expect(train({ model, data: arrayClipSource(clips), config: tinyConfig, outDir: tmp(), resume: true })).rejects.toThrow(/nothing to resume/);
    model.dispose();
  });
});
