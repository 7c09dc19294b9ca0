import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { UnsupportedDtypeError } from './errors.js';
import { openSource } from './source.js';
import { type TensorRecord } from './tensor.js';
import { readTorchCheckpoint } from './torch.js';
import { writeTorchCheckpoint, ZipWriter } from './torchwrite.js';
import { ZipArchive } from './zip.js';

const ref = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference');
const out = join(import.meta.dirname, '..', '..', '..', 'tooling', 'reference', 'checkpoint', 'out');
const dir = mkdtempSync(join(tmpdir(), 'torchwrite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sameTensors(a: Map<string, TensorRecord>, b: Map<string, TensorRecord>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, t] of b) {
    const u = a.get(k)!;
    expect(u.dtype, k).toBe(t.dtype);
    expect(u.shape, k).toEqual(t.shape);
    expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k).toBe(true);
  }
}

// torch.load (1.13) of these files was checked by hand; here the round trip through our reader
describe('writeTorchCheckpoint', () => {
  it('round-trips the BEATs layout {cfg, model} with plain-data meta', () => {
    const beats = readTorchCheckpoint(join(ref, 'tiny_beats.pt'));
    const path = join(dir, 'beats.pt');
    writeTorchCheckpoint(path, beats.tensors, { cfg: beats.meta.cfg!, epoch: 3, big: 2n ** 70n, neg: -(2 ** 40), mix: [1.5, 'x', null, true] });
    expect(readdirSync(dir)).toEqual(['beats.pt']);
    const back = readTorchCheckpoint(path);
    expect(back.stateDictPath).toBe('model');
    sameTensors(back.tensors, beats.tensors);
    expect(back.meta).toEqual({ cfg: beats.meta.cfg, epoch: 3, big: (2n ** 70n).toString(), neg: -(2 ** 40), mix: [1.5, 'x', null, true] });
  });

  it('round-trips every dtype as a bare state dict, tied tensors sharing one storage', () => {
    const dtypes = readTorchCheckpoint(join(out, 'dtypes.pt'));
    const tensors = new Map(dtypes.tensors);
    tensors.set('tied', dtypes.tensors.get('half')!);
    const path = join(dir, 'dtypes.pt');
    writeTorchCheckpoint(path, tensors);
    const back = readTorchCheckpoint(path);
    expect(back.stateDictPath).toBe('');
    sameTensors(back.tensors, tensors);
    expect(back.tensors.get('tied')).toBe(back.tensors.get('half'));
    // a different record over the same data is a second view of the one storage
    const viewsPath = join(dir, 'views.pt');
    writeTorchCheckpoint(viewsPath, { a: dtypes.tensors.get('half')!, b: { ...dtypes.tensors.get('half')! } });
    const views = readTorchCheckpoint(viewsPath);
    expect(views.tensors.get('a')).not.toBe(views.tensors.get('b'));
    expect(views.tensors.get('a')!.data.buffer).toBe(views.tensors.get('b')!.data.buffer);
    const src = openSource(path);
    try {
      const zip = new ZipArchive(src);
      expect(zip.names.filter((n) => n.startsWith('archive/data/'))).toHaveLength(dtypes.tensors.size);
    } finally {
      src.close();
    }
  });

  it('writes ZIP64 records that the reader follows', () => {
    const chunks: Uint8Array[] = [];
    const zip = new ZipWriter((b) => chunks.push(b.slice()), 0);
    zip.add('x/data.pkl', Uint8Array.from([0x80, 2, 0x7d, 0x2e]));
    zip.add('x/version', new TextEncoder().encode('3\n'));
    zip.finish();
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const ck = readTorchCheckpoint(bytes, { name: 'zip64.pt' });
    expect(ck.tensors.size).toBe(0);
    const a = new ZipArchive(openSource(bytes));
    expect(new TextDecoder().decode(a.read('x/version'))).toBe('3\n');
  });

  it('refuses dtypes torch cannot store and leaves no file behind', () => {
    expect(() => writeTorchCheckpoint(join(dir, 'u16.pt'), { a: { dtype: 'uint32', shape: [1], data: new Uint32Array(1) } })).toThrow(UnsupportedDtypeError);
    expect(readdirSync(dir).filter((f) => f.startsWith('.u16'))).toEqual([]);
  });
});
