import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { CheckpointConfigError, CheckpointNotFoundError, UnknownCheckpointFormatError } from './errors.js';
import { writeSafetensors } from './safetensors.js';
import { type TensorRecord } from './tensor.js';
import { readTorchCheckpoint } from './torch.js';

const ref = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference');
const root = mkdtempSync(join(tmpdir(), 'hfdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const t = (values: number[]): TensorRecord => ({ dtype: 'float32', shape: [values.length], data: Float32Array.from(values) });

function dir(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  return d;
}

describe('Hugging Face model directories', () => {
  it('reads model.safetensors with config.json and preprocessor_config.json in meta', () => {
    const d = dir('ast');
    writeSafetensors(join(d, 'model.safetensors'), { 'audio_spectrogram_transformer.embeddings.cls_token': t([1, 2]) }, { format: 'pt' });
    writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'audio-spectrogram-transformer', hidden_size: 768 }));
    writeFileSync(join(d, 'preprocessor_config.json'), JSON.stringify({ mean: -4.2677393, std: 4.5689974 }));
    const ck = readTorchCheckpoint(d);
    expect(ck.format).toBe('safetensors');
    expect(ck.source).toBe(d);
    expect(ck.meta).toEqual({ format: 'pt', weights: 'model.safetensors', config: { model_type: 'audio-spectrogram-transformer', hidden_size: 768 }, preprocessor_config: { mean: -4.2677393, std: 4.5689974 } });
    expect(Array.from(ck.tensors.get('audio_spectrogram_transformer.embeddings.cls_token')!.data as Float32Array)).toEqual([1, 2]);
  });

  it('reads pytorch_model.bin when there is no safetensors file', () => {
    const d = dir('bin');
    copyFileSync(join(ref, 'head.pt'), join(d, 'pytorch_model.bin'));
    const ck = readTorchCheckpoint(d);
    expect(ck.format).toBe('torch-zip');
    expect(ck.tensors.get('asp.tdnn.norm.norm.num_batches_tracked')!.dtype).toBe('int64');
    expect(ck.meta).toEqual({ weights: 'pytorch_model.bin' });
  });

  it('merges shards listed in an index and checks the index', () => {
    const d = dir('sharded');
    writeSafetensors(join(d, 'model-00001-of-00002.safetensors'), { a: t([1]) });
    writeSafetensors(join(d, 'model-00002-of-00002.safetensors'), { b: t([2, 3]) });
    const index = { metadata: { total_size: 12 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
    const ck = readTorchCheckpoint(d);
    expect([...ck.tensors.keys()].sort()).toEqual(['a', 'b']);
    expect(ck.meta.weights).toBe('model.safetensors.index.json');

    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...index.weight_map, c: 'model-00001-of-00002.safetensors' } }));
    expect(() => readTorchCheckpoint(d)).toThrow(/1 tensors listed in weight_map are not in their shards \(first: c\)/);
    writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: '../../etc/passwd' } }));
    expect(() => readTorchCheckpoint(d)).toThrow(CheckpointConfigError);
    writeFileSync(join(d, 'model.safetensors.index.json'), '{ not json');
    expect(() => readTorchCheckpoint(d)).toThrow(/model\.safetensors\.index\.json: not readable JSON/);
  });

  it('names a missing path', () => {
    expect(() => readTorchCheckpoint(join(root, 'nope.pt'))).toThrow(CheckpointNotFoundError);
    expect(() => readTorchCheckpoint(join(root, 'nope.pt'))).toThrow(/nope\.pt: no such file/);
  });

  it('says what it looked for in an empty directory', () => {
    expect(() => readTorchCheckpoint(dir('empty'))).toThrow(UnknownCheckpointFormatError);
    expect(() => readTorchCheckpoint(join(root, 'empty'))).toThrow(/without model\.safetensors \/ model\.safetensors\.index\.json \/ pytorch_model\.bin/);
  });
});
