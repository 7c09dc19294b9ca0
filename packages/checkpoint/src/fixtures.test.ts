import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  LegacyTorchFormatError,
  StateDictPathError,
  StorageTruncatedError,
  TorchScriptArchiveError,
  UnsafePickleError,
} from './errors.js';
import { readSafetensors } from './safetensors.js';
import { type TensorRecord } from './tensor.js';
import { inspectCheckpoint, readTorchCheckpoint } from './torch.js';

// made by tooling/reference/checkpoint/make_fixtures.py (torch 1.13) and make_safetensors.py (safetensors 0.8.0)
const out = join(import.meta.dirname, '..', '..', '..', 'tooling', 'reference', 'checkpoint', 'out');

interface Expected {
  dtype: string;
  shape: number[];
  /** non-finite values are spelled 'inf', '-inf', 'nan' */
  values: (number | string)[];
  bits?: number[];
}
const expected = (JSON.parse(readFileSync(join(out, 'expected.json'), 'utf8')) as { fixtures: Record<string, Record<string, Expected>> }).fixtures;

function num(v: number | string): number {
  if (typeof v === 'number') return v;
  return ({ inf: Infinity, '-inf': -Infinity } as Record<string, number>)[v] ?? NaN;
}

function values(t: TensorRecord): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Exact comparison: every value in the fixtures is representable in its dtype. */
function expectTensor(t: TensorRecord | undefined, want: Expected, name: string): void {
  expect(t, name).toBeDefined();
  expect(t!.shape, name).toEqual(want.shape);
  if (want.bits) {
    expect(t!.dtype, name).toBe(want.dtype);
    expect(Array.from(t!.data as Uint16Array), name).toEqual(want.bits);
    return;
  }
  const dtype = want.dtype === 'bool' ? 'bool' : want.dtype;
  expect(t!.dtype, name).toBe(dtype);
  expect(values(t!), name).toEqual(want.values.map(num));
}

describe('torch fixtures made with python3-torch 1.13', () => {
  it('dtypes.pt: float16/bfloat16 as raw bits, widened on request, and every integer kind', () => {
    const ck = readTorchCheckpoint(join(out, 'dtypes.pt'));
    const want = expected['dtypes.pt']!;
    expect([...ck.tensors.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) expectTensor(ck.tensors.get(name), w, name);
    const wide = readTorchCheckpoint(join(out, 'dtypes.pt'), { toFloat32: true });
    for (const name of ['half', 'bf16', 'special']) {
      const t = wide.tensors.get(name)!;
      expect(t.dtype).toBe('float32');
      expect(Array.from(t.data as Float32Array), name).toEqual(want[name]!.values.map(num));
    }
    expect(wide.tensors.get('f64')!.dtype).toBe('float64');
  });

  it('views.pt: offsets, strides, stride-0 expands, 0-d and empty views, one shared storage', () => {
    const ck = readTorchCheckpoint(join(out, 'views.pt'));
    const want = expected['views.pt']!;
    expect([...ck.tensors.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) expectTensor(ck.tensors.get(name), w, name);
    // contiguous views of the shared storage are zero-copy: row and base share memory
    expect(ck.tensors.get('row')!.data.buffer).toBe(ck.tensors.get('base')!.data.buffer);
    expect(ck.tensors.get('alias')!.data).toBe(ck.tensors.get('base')!.data);
    expect(ck.tensors.get('scalar')!.shape).toEqual([]);
  });

  it('lightning.ckpt: state_dict found, meta keeps epoch / hyper_parameters, optimizer tensors are placeholders', () => {
    const ck = readTorchCheckpoint(join(out, 'lightning.ckpt'));
    const want = expected['lightning.ckpt']!;
    expect(ck.stateDictPath).toBe('state_dict');
    const sdNames = Object.keys(want).filter((k) => k.startsWith('state_dict.'));
    // the state dict keeps its insertion order; expected.json is key-sorted
    expect([...ck.tensors.keys()]).toEqual(['model.encoder.weight', 'model.encoder.bias', 'model.bn.running_mean', 'model.bn.num_batches_tracked', 'teacher.encoder.weight']);
    expect(sdNames.length).toBe(5);
    expect(ck.tensors.get('teacher.encoder.weight')).toBe(ck.tensors.get('model.encoder.weight'));
    for (const k of sdNames) expectTensor(ck.tensors.get(k.slice('state_dict.'.length)), want[k]!, k);
    expect(ck.tensors.get('model.bn.num_batches_tracked')!.dtype).toBe('int64');
    expect(ck.meta).toMatchObject({
      epoch: 3,
      global_step: 120,
      'pytorch-lightning_version': '1.9.5',
      hparams_name: 'kwargs',
      hyper_parameters: { lr: 0.001, n_mels: 128, arch: 'atst_frame', milestones: [10, 20], tags: ['a'] },
      lr_schedulers: [{ last_epoch: 3, _last_lr: [0.001], milestones: { '10': 1, '20': 1 } }],
    });
    expect(ck.meta.state_dict).toBeUndefined();
    const opt = (ck.meta.optimizer_states as { state: Record<string, Record<string, unknown>> }[])[0]!;
    // small tensors outside the state dict carry their values
    expect(opt.state['0']!.exp_avg).toEqual({ $tensor: 'optimizer_states.0.state.0.exp_avg', dtype: 'float32', shape: [4, 3], values: new Array<number>(12).fill(0.5) });
    expect(opt.state['0']!.step).toEqual({ $tensor: 'optimizer_states.0.state.0.step', dtype: 'float32', shape: [], values: [120] });
    expect(ck.otherTensors.size).toBe(0);

    const all = readTorchCheckpoint(join(out, 'lightning.ckpt'), { includeOtherTensors: true });
    expect(Array.from(all.otherTensors.get('optimizer_states.0.state.0.exp_avg')!.data as Float32Array)).toEqual(new Array<number>(12).fill(0.5));
    // a state dict anywhere, addressed as tensor names address it (list index, int key)
    const moments = readTorchCheckpoint(join(out, 'lightning.ckpt'), { stateDict: 'optimizer_states.0.state.0' });
    expect([...moments.tensors.keys()]).toEqual(['step', 'exp_avg']);
    const cb = Object.keys(want).find((k) => k.endsWith('best_model_score'))!;
    expect(Array.from(all.otherTensors.get(cb)!.data as Float32Array)).toEqual([0.25]);
  });

  it('nested.pt: any archive prefix, argparse.Namespace and torch.Size/dtype/device as plain data', () => {
    const ck = readTorchCheckpoint(join(out, 'nested.pt'));
    const want = expected['nested.pt']!;
    expect(ck.stateDictPath).toBe('model');
    for (const [k, w] of Object.entries(want).filter(([k]) => k.startsWith('model.'))) expectTensor(ck.tensors.get(k.slice('model.'.length)), w, k);
    expect(ck.meta.args).toEqual({ arch: 'data2vec_audio', lr: [0.0005], max_tokens: 1400000, normalize: true, encoder_layers: 2 });
    expect(ck.meta.extra_state).toEqual({
      epoch: 11, shape: [2, 3], dtype: 'torch.float16', device: 'cpu',
      val_loss: 2.75, best: 1.25, updates: 400000, flag: true,
      arr: { $tensor: 'extra_state.arr', dtype: 'float32', shape: [2, 3], values: [0, 1, 2, 3, 4, 5] },
      // Fortran-order bytes come back in C order; big-endian ones byte-swapped
      arr_f: { $tensor: 'extra_state.arr_f', dtype: 'int16', shape: [2, 3], values: [0, 1, 2, 3, 4, 5] },
      arr_be: { $tensor: 'extra_state.arr_be', dtype: 'int32', shape: [3], values: [0, 1, 2] },
    });
    expect(ck.meta.optimizer_history).toEqual([{ criterion_name: 'ModelCriterion', optimizer_name: 'AdamOptimizer', num_updates: 400000, lr_scheduler_state: { best: null } }]);
    const picked = readTorchCheckpoint(join(out, 'nested.pt'), { stateDict: 'extra_state', toFloat32: true });
    expect([...picked.tensors.keys()]).toEqual(['arr', 'arr_f', 'arr_be']);
    expect(picked.meta.model).toEqual({
      'encoder.layers.0.fc1.weight': { $tensor: 'model.encoder.layers.0.fc1.weight', dtype: 'float32', shape: [2, 3], values: want['model.encoder.layers.0.fc1.weight']!.values },
      'encoder.layers.0.fc1.bias': { $tensor: 'model.encoder.layers.0.fc1.bias', dtype: 'float32', shape: [2], values: want['model.encoder.layers.0.fc1.bias']!.values },
    });
    expect(() => readTorchCheckpoint(join(out, 'nested.pt'), { stateDict: 'args' })).toThrow(StateDictPathError);
    expect(() => readTorchCheckpoint(join(out, 'nested.pt'), { stateDict: 'model.nope' })).toThrow(/nested\.pt: no 'model\.nope' in the checkpoint/);
  });

  it('proto1.pt / proto4.pt: torch.save with pickle protocols 1 and 4 read the same', () => {
    for (const file of ['proto1.pt', 'proto4.pt']) {
      const ck = readTorchCheckpoint(join(out, file));
      const want = expected[file]!;
      expect(ck.stateDictPath, file).toBe('model');
      for (const [k, w] of Object.entries(want).filter(([k]) => k.startsWith('model.'))) expectTensor(ck.tensors.get(k.slice('model.'.length)), w, `${file} ${k}`);
      expect(ck.meta, file).toEqual({
        args: { lr: 0.5, name: 'x', sizes: [1, 2] },
        extra: { f: 1.25, big: (2n ** 70n).toString(), neg: -7, s: [1], b: { $bytes: 'AP8=' }, u: 'café' },
      });
    }
  });

  it('hydra.ckpt: OmegaConf hyper_parameters become plain data', () => {
    const ck = readTorchCheckpoint(join(out, 'hydra.ckpt'));
    expect(ck.meta).toEqual({
      epoch: 1,
      // interpolations and missing values stay as OmegaConf spells them
      hyper_parameters: { lr: 0.0005, model: { arch: 'atst_frame', layers: [12, 768], dropout: null }, warmup_lr: '${lr}', data: { sr: 16000, path: '???' }, flag: true },
    });
    expect(Array.from(ck.tensors.get('encoder.w')!.data as Float32Array)).toEqual([1, 1, 1, 1]);
  });

  it('refuses legacy and TorchScript files with a clear message', () => {
    expect(() => readTorchCheckpoint(join(out, 'legacy.pt'))).toThrow(LegacyTorchFormatError);
    expect(() => readTorchCheckpoint(join(out, 'legacy.pt'))).toThrow(/legacy\.pt: legacy \(pre-1\.6, non-zip\) torch\.save format/);
    expect(() => readTorchCheckpoint(join(out, 'torchscript.pt'))).toThrow(TorchScriptArchiveError);
  });

  it('rejects a pickle that calls os.system without running it', () => {
    const marker = '/tmp/anopatch-checkpoint-pwned';
    let err: unknown;
    try {
      readTorchCheckpoint(join(out, 'evil_system.pt'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafePickleError);
    expect((err as UnsafePickleError).global).toBe('posix.system');
    expect((err as Error).message).toMatch(/evil_system\.pt: the pickle references global 'posix\.system', which is not on the allow-list/);
    expect(existsSync(marker)).toBe(false);
  });

  it('rejects an unknown class with its name', () => {
    expect(() => readTorchCheckpoint(join(out, 'evil_unknown.pt'))).toThrow(/'evil_module\.Unknown'/);
    // unless the caller declares it config-like: then it is plain data
    const ck = readTorchCheckpoint(join(out, 'evil_unknown.pt'), { plainClasses: ['evil_module.Unknown'] });
    expect(ck.meta).toEqual({ cfg: { payload: 1 } });
  });

  it('reports a data file shorter than its storage', () => {
    expect(() => readTorchCheckpoint(join(out, 'short_storage.pt'))).toThrow(StorageTruncatedError);
    expect(() => readTorchCheckpoint(join(out, 'short_storage.pt'))).toThrow(/storage 0 holds 20 bytes but the checkpoint claims 16 x float32 = 64 bytes/);
  });
});

describe('safetensors written by the official library (safetensors 0.8.0)', () => {
  const ref = JSON.parse(readFileSync(join(out, 'reference.safetensors.json'), 'utf8')) as { tensors: Record<string, Expected> };
  const npDtype: Record<string, string> = { float32: 'float32', float16: 'float16', float64: 'float64', int64: 'int64', int32: 'int32', uint8: 'uint8', bool: 'bool' };

  it('reads every tensor and the metadata', () => {
    const st = readSafetensors(join(out, 'reference.safetensors'));
    expect(st.metadata.format).toBe('np');
    expect(st.metadata.note).toMatch(/^written by safetensors/);
    expect([...st.tensors.keys()].sort()).toEqual(Object.keys(ref.tensors).sort());
    for (const [name, w] of Object.entries(ref.tensors)) expectTensor(st.tensors.get(name), { ...w, dtype: npDtype[w.dtype]! }, name);
  });

  it('is also what readTorchCheckpoint returns for a safetensors file', () => {
    const ck = readTorchCheckpoint(join(out, 'reference.safetensors'), { toFloat32: true });
    expect(ck.format).toBe('safetensors');
    expect(ck.meta.format).toBe('np');
    expect(Array.from(ck.tensors.get('half')!.data as Float32Array)).toEqual(ref.tensors.half!.values.map(num));
  });
});

describe('inspectCheckpoint', () => {
  const files = ['dtypes.pt', 'views.pt', 'lightning.ckpt', 'nested.pt', 'hydra.ckpt', 'proto1.pt', 'proto4.pt', 'reference.safetensors'].map((f) => join(out, f));
  files.push(join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference', 'tiny_beats.pt'));

  it('gives the same names, dtypes, shapes and meta as a full read, without the data', () => {
    for (const file of files) {
      for (const toFloat32 of [false, true]) {
        const info = inspectCheckpoint(file, { toFloat32 });
        const full = readTorchCheckpoint(file, { toFloat32 });
        expect(info.format).toBe(full.format);
        expect(info.stateDictPath).toBe(full.stateDictPath);
        expect([...info.tensors]).toEqual([...full.tensors].map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape }]));
        expect(info.meta).toEqual(full.meta);
      }
    }
  });

  it('still checks storages against the archive', () => {
    expect(() => inspectCheckpoint(join(out, 'short_storage.pt'))).toThrow(StorageTruncatedError);
    expect(() => inspectCheckpoint(join(out, 'evil_system.pt'))).toThrow(UnsafePickleError);
  });
});
