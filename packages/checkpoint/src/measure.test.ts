import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { measureCheckpointLoad, writeSyntheticCheckpoint } from './measure.js';
import { readTorchCheckpoint } from './torch.js';

const ref = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference');

describe('measureCheckpointLoad', () => {
  it('reports what it loaded (timings go to the benchmark, not asserted here)', () => {
    const path = join(ref, 'tiny_beats.pt');
    const m = measureCheckpointLoad(path);
    expect(m).toMatchObject({ path, format: 'torch-zip', fileBytes: statSync(path).size, tensors: 50, parameters: 96744 });
    expect(Number.isFinite(m.seconds)).toBe(true);
    expect(m.peakRssBytes).toBeGreaterThanOrEqual(m.rssBeforeBytes);
  });
});

describe('writeSyntheticCheckpoint', () => {
  it('writes a reproducible BEATs-shaped {cfg, model} checkpoint (small here; 90M for the benchmark)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'synth-'));
    try {
      const small = { layers: 2, dim: 32, ffn: 64 };
      // 131072 + 512 + 16384 + 8192 (pos_conv) + 2 x (4 x 1056 + 2 x 2048 + 128) = 173,056, topped up to 200,000
      const a = writeSyntheticCheckpoint(join(dir, 'a.pt'), { ...small, parameters: 200_000 });
      writeSyntheticCheckpoint(join(dir, 'b.pt'), { ...small, parameters: 200_000 });
      expect(a).toEqual({ parameters: 200_000, tensors: 4 + 2 * 14 + 1 });
      const ck = readTorchCheckpoint(join(dir, 'a.pt'));
      expect(ck.stateDictPath).toBe('model');
      expect(ck.meta.cfg).toEqual({ encoder_layers: 2, encoder_embed_dim: 32, encoder_ffn_embed_dim: 64, embed_dim: 512, input_patch_size: 16 });
      expect(ck.tensors.get('encoder.layers.1.fc2.weight')!.shape).toEqual([32, 64]);
      expect(ck.tensors.get('predictor.weight')!.shape).toEqual([200_000 - 173_056]);
      const b = readTorchCheckpoint(join(dir, 'b.pt'));
      expect(Array.from((b.tensors.get('layer_norm.weight')!.data as Float32Array).subarray(0, 4))).toEqual(Array.from((ck.tensors.get('layer_norm.weight')!.data as Float32Array).subarray(0, 4)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
