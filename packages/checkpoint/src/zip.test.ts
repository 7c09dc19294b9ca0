import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { craftZip, f32bytes, tensorPickle, torchZip } from './__tests__/craft.js';
import { UnknownCheckpointFormatError, ZipFormatError } from './errors.js';
import { openSource } from './source.js';
import { readTorchCheckpoint } from './torch.js';
import { ZipArchive } from './zip.js';

const ref = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference');
const out = join(import.meta.dirname, '..', '..', '..', 'tooling', 'reference', 'checkpoint', 'out');

/** The members of a real torch.save archive, to re-pack in other container shapes. */
function members(path: string): { name: string; data: Uint8Array }[] {
  const src = openSource(path);
  try {
    const zip = new ZipArchive(src);
    return zip.names.map((name) => ({ name, data: zip.read(name) }));
  } finally {
    src.close();
  }
}

describe('zip container', () => {
  const views = readTorchCheckpoint(join(out, 'views.pt'));

  it('reads ZIP64 records, deflated members and a nested archive prefix the same as the original', () => {
    const repacked = members(join(out, 'views.pt')).map((m) => ({ ...m, name: m.name.replace(/^views\//, 'deep/er/prefix/'), deflate: m.name.includes('/data/') }));
    for (const zip64 of [false, true]) {
      const ck = readTorchCheckpoint(craftZip(repacked, { zip64 }), { name: 'repacked.pt' });
      expect([...ck.tensors.keys()]).toEqual([...views.tensors.keys()]);
      for (const [name, t] of views.tensors) {
        expect(ck.tensors.get(name)!.shape).toEqual(t.shape);
        expect(Array.from(ck.tensors.get(name)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
      }
    }
  });

  it('reads a crafted ZIP64 torch archive', () => {
    const bytes = torchZip(tensorPickle({ numel: 4, offset: 1, size: [3], stride: [1] }), { '0': f32bytes([1, 2, 3, 4]) }, { zip64: true, prefix: 'x/' });
    expect(Array.from(readTorchCheckpoint(bytes).tensors.get('w')!.data as Float32Array)).toEqual([2, 3, 4]);
  });

  it('byte-swaps storages of an archive written on a big-endian machine', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    const zip = craftZip([
      { name: 'archive/data.pkl', data: tensorPickle({ numel: 2, offset: 0, size: [2], stride: [1] }) },
      { name: 'archive/byteorder', data: new TextEncoder().encode('big') },
      { name: 'archive/data/0', data: be },
    ]);
    expect(Array.from(readTorchCheckpoint(zip).tensors.get('w')!.data as Float32Array)).toEqual([1.5, -2]);
  });

  it('reads from a Uint8Array at any byte offset', () => {
    const bytes = readFileSync(join(out, 'views.pt'));
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const ck = readTorchCheckpoint(shifted.subarray(3), { name: 'shifted' });
    for (const [name, t] of views.tensors) expect(Array.from(ck.tensors.get(name)!.data as Float32Array), name).toEqual(Array.from(t.data as Float32Array));
  });

  it('says a cut-short checkpoint is truncated', () => {
    const full = new Uint8Array(readFileSync(join(ref, 'tiny_beats.pt')));
    for (const keep of [full.length >> 1, full.length - 10, 100, 30]) {
      const cut = full.slice(0, keep);
      expect(() => readTorchCheckpoint(cut, { name: 'cut.pt' }), String(keep)).toThrow(ZipFormatError);
      expect(() => readTorchCheckpoint(cut, { name: 'cut.pt' }), String(keep)).toThrow(/^cut\.pt: .*(truncated|too short)/);
    }
  });

  it('rejects a central directory that lies', () => {
    const good = torchZip(tensorPickle({ numel: 1, offset: 0, size: [1], stride: [1] }), { '0': f32bytes([1]) });
    const dv = new DataView(good.buffer);
    const eocd = good.length - 22;
    const count = good.slice();
    new DataView(count.buffer).setUint16(eocd + 10, 60000, true);
    expect(() => readTorchCheckpoint(count, { name: 'lie.pt' })).toThrow(/60000 entries cannot fit/);
    const offset = good.slice();
    new DataView(offset.buffer).setUint32(eocd + 16, dv.getUint32(eocd + 16, true) + 1000, true);
    expect(() => readTorchCheckpoint(offset, { name: 'lie.pt' })).toThrow(/central directory .* runs past the end/);
    // first central record's local-header offset pointing past the end
    const local = good.slice();
    const cd = dv.getUint32(eocd + 16, true);
    new DataView(local.buffer).setUint32(cd + 42, 0x7fffffff, true);
    expect(() => readTorchCheckpoint(local, { name: 'lie.pt' })).toThrow(/runs past the end of the .*-byte file/);
  });

  it('tells a zip without data.pkl and a non-checkpoint apart', () => {
    expect(() => readTorchCheckpoint(craftZip([{ name: 'a.txt', data: new Uint8Array(3) }]), { name: 'a.zip' })).toThrow(/a\.zip: a zip archive without data\.pkl/);
    expect(() => readTorchCheckpoint(new TextEncoder().encode('hello world, not a checkpoint'), { name: 'h.txt' })).toThrow(UnknownCheckpointFormatError);
  });
});
