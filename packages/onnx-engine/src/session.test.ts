import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { maxAbsDiff } from '@anopatch/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';

import { seeded } from './__tests__/run-onnx.js';
import { buildOnnxModel } from './build.js';
import { createOnnxEmbedder } from './embedder.js';
import { OnnxInputError, OnnxModelLoadError } from './errors.js';
import { getWarmSession, OnnxSession, releaseWarmSessions } from './session.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-engine-test-'));
afterAll(async () => {
  await releaseWarmSessions();
  rmSync(dir, { recursive: true, force: true });
});

/** mean over time of x W^T: [B, T, 4] -> [B, 3], enough to check batching and file handling. */
function meanProjection(w: Float32Array) {
  return buildOnnxModel({
    weights: new Map([['proj', { shape: [3, 4], data: w }]]),
    inputs: [{ name: 'fbank', shape: ['batch', 'frames', 4] }],
    forward: (ops, [x]) => ({ embedding: ops.mean(ops.linear(x!, ops.param('proj')), 1) }),
    metadata: { kind: 'test' },
  });
}

function expected(w: Float32Array, clip: Float32Array, frames: number): number[] {
  return [0, 1, 2].map((o) => {
    let s = 0;
    for (let t = 0; t < frames; t++) for (let i = 0; i < 4; i++) s += clip[t * 4 + i]! * w[o * 4 + i]!;
    return s / frames;
  });
}

describe('OnnxGraphBuilder.save', () => {
  it('writes atomically (no temp files left) and ONNX Runtime loads the file', async () => {
    const w = seeded(12, 1);
    const path = join(dir, 'inline.onnx');
    expect(meanProjection(w).save(path)).toEqual([path]);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const s = await OnnxSession.create(path, { executionProviders: ['cpu'], threads: 1 });
    expect(s.executionProvider).toBe('cpu');
    expect(s.inputNames).toEqual(['fbank']);
    const clip = seeded(20, 2);
    const out = await s.run({ fbank: { shape: [1, 5, 4], data: clip } });
    expect(maxAbsDiff(out.embedding!.data, expected(w, clip, 5))).toBeLessThan(1e-6);
    await s.release();
  });

  it('moves initializers to <file>.data past the external-data threshold, and the result still loads', async () => {
    const w = seeded(12, 3);
    const path = join(dir, 'external.onnx');
    const written = meanProjection(w).save(path, { externalDataThreshold: 16 });
    expect(written).toEqual([path, `${path}.data`]);
    expect(existsSync(`${path}.data`)).toBe(true);
    const s = await OnnxSession.create(path, { executionProviders: ['cpu'], threads: 1 });
    const clip = seeded(8, 4);
    const out = await s.run({ fbank: { shape: [1, 2, 4], data: clip } });
    expect(maxAbsDiff(out.embedding!.data, expected(w, clip, 2))).toBeLessThan(1e-6);
    await s.release();
  });
});

describe('OnnxSession', () => {
  it('names the file when ONNX Runtime refuses it', async () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await expect(OnnxSession.create(bad, { executionProviders: ['cpu'] })).rejects.toThrow(OnnxModelLoadError);
    await expect(OnnxSession.create(bad, { executionProviders: ['cpu'] })).rejects.toThrow(/bad\.onnx/);
  });

  it('falls back to CPU when the CUDA provider is not installed', async () => {
    const s = await OnnxSession.create(meanProjection(seeded(12, 5)).toBytes(), { executionProviders: ['cuda', 'cpu'], threads: 1 });
    // onnxruntime-node's npm package bundles only the CPU provider; CUDA comes from its install script
    expect(['cuda', 'cpu']).toContain(s.executionProvider);
    await s.release();
  });

  it('rejects missing, unknown and mis-sized inputs with the model named', async () => {
    const s = await OnnxSession.create(meanProjection(seeded(12, 6)).toBytes(), { executionProviders: ['cpu'], threads: 1 });
    await expect(s.run({})).rejects.toThrow(OnnxInputError);
    await expect(s.run({ fbank: { shape: [1, 2, 4], data: new Float32Array(8) }, extra: { shape: [1], data: new Float32Array(1) } })).rejects.toThrow(/unknown input "extra"/);
    await expect(s.run({ fbank: { shape: [1, 2, 4], data: new Float32Array(7) } })).rejects.toThrow(/7 values/);
    await s.release();
  });

  it('keeps one warm session per model path', async () => {
    const path = join(dir, 'warm.onnx');
    meanProjection(seeded(12, 7)).save(path);
    const a = await getWarmSession(path, { threads: 1, executionProviders: ['cpu'] });
    const b = await getWarmSession(path, { threads: 1, executionProviders: ['cpu'] });
    expect(a).toBe(b);
  });
});

describe('createOnnxEmbedder', () => {
  it('batches equal-length clips and returns results in input order', async () => {
    const w = seeded(12, 8);
    const path = join(dir, 'embed.onnx');
    meanProjection(w).save(path);
    const embedder = await createOnnxEmbedder({ model: path, batchSize: 2, threads: 1, executionProviders: ['cpu'] });
    expect(embedder.inputName).toBe('fbank');
    expect(embedder.outputName).toBe('embedding');
    const lengths = [5, 3, 5, 5, 3];
    const clips = lengths.map((t, i) => ({ shape: [t, 4], data: seeded(t * 4, 20 + i) }));
    const out = await embedder.embed(clips);
    expect(out).toHaveLength(5);
    out.forEach((o, i) => {
      expect(o.shape).toEqual([3]);
      const want = expected(w, clips[i]!.data, lengths[i]!);
      o.data.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 5));
    });
    await embedder.release();
  });

  it('refuses an output the model does not have', async () => {
    await expect(createOnnxEmbedder({ model: meanProjection(seeded(12, 9)).toBytes(), outputName: 'tokens', executionProviders: ['cpu'] })).rejects.toThrow(
      /no output "tokens"/,
    );
  });
});
