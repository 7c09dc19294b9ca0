import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readNpy } from './npy.js';
import { readTorchCheckpoint } from './torch.js';

// ../shared/fixtures/reference (see its README): real torch.save output from torch 1.13
const ref = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference');

describe('readTorchCheckpoint on the reference tiny_beats.pt', () => {
  const names = JSON.parse(readFileSync(join(ref, 'beats_params', 'names.json'), 'utf8')) as { name: string; file: string; shape: number[] }[];

  it('finds the state dict under "model" and every tensor equals the exported .npy exactly', () => {
    const ck = readTorchCheckpoint(join(ref, 'tiny_beats.pt'));
    expect(ck.format).toBe('torch-zip');
    expect(ck.stateDictPath).toBe('model');
    const stateNames = names.filter((n) => !n.name.startsWith('derived.'));
    expect(ck.tensors.size).toBe(stateNames.length);
    for (const n of stateNames) {
      const t = ck.tensors.get(n.name);
      expect(t, n.name).toBeDefined();
      const want = readNpy(readFileSync(join(ref, n.file)));
      expect(t!.dtype).toBe('float32');
      expect(t!.shape).toEqual(want.shape);
      // bit-exact: both are the same float32 values
      expect(Buffer.from(t!.data.buffer, t!.data.byteOffset, t!.data.byteLength).equals(Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength)), n.name).toBe(true);
    }
  });

  it('exposes the cfg dict as plain JSON in meta', () => {
    const ck = readTorchCheckpoint(join(ref, 'tiny_beats.pt'));
    expect(Object.keys(ck.meta)).toEqual(['cfg']);
    const cfg = ck.meta.cfg as Record<string, unknown>;
    expect(cfg).toMatchObject({ input_patch_size: 16, embed_dim: 32, conv_bias: false, encoder_layers: 2, encoder_embed_dim: 64, deep_norm: true, num_buckets: 320, max_distance: 800, activation_fn: 'gelu', predictor_class: 527, layer_wise_gradient_decay_ratio: 1 });
    expect(JSON.parse(JSON.stringify(ck.meta))).toEqual(ck.meta);
  });

  it('reads the same checkpoint from bytes', () => {
    const bytes = readFileSync(join(ref, 'tiny_beats.pt'));
    const ck = readTorchCheckpoint(new Uint8Array(bytes), { name: 'tiny_beats(bytes)' });
    const fromFile = readTorchCheckpoint(join(ref, 'tiny_beats.pt'));
    for (const [name, t] of fromFile.tensors) expect(Array.from(ck.tensors.get(name)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
  });

  it('reads head.pt (a bare state dict) including int64 num_batches_tracked', () => {
    const ck = readTorchCheckpoint(join(ref, 'head.pt'));
    expect(ck.stateDictPath).toBe('');
    const order = readFileSync(join(ref, 'head', 'names.txt'), 'utf8').trim().split('\n');
    expect([...ck.tensors.keys()]).toEqual(order);
    for (const name of order) {
      const want = readNpy(readFileSync(join(ref, 'head', `${name}.npy`)));
      const t = ck.tensors.get(name)!;
      expect(t.shape).toEqual(want.shape);
      expect(t.dtype).toBe(want.dtype);
      if (t.dtype === 'int64') expect(Array.from(t.data as BigInt64Array)).toEqual(Array.from(want.data as BigInt64Array));
      else expect(Array.from(t.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
    }
  });
});
