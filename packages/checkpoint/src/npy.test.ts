import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { encodeNpy, NpyFormatError, readNpy } from './npy.js';

// fixtures made by numpy 1.24 (../shared/fixtures/reference, see its README)
const ref = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference');

describe('npy', () => {
  it('reads numpy float32, float64 and int32 files', () => {
    const f32 = readNpy(readFileSync(join(ref, 'clip_a.embedding.npy')));
    expect(f32).toMatchObject({ dtype: 'float32', shape: [16] });
    const f64 = readNpy(readFileSync(join(ref, 'clip_a.embedding_f64.npy')));
    expect(f64.dtype).toBe('float64');
    for (let i = 0; i < 16; i++) expect(Math.abs((f32.data[i] as number) - (f64.data[i] as number))).toBeLessThan(1e-5);
    const buckets = readNpy(readFileSync(join(ref, 'clip_a.rel_pos_bucket.npy')));
    expect(buckets).toMatchObject({ dtype: 'int32', shape: [96, 96] });
    expect(buckets.data[1]).toBe(161); // key one step right of the query: bucket 1 + 160
  });
  it('round-trips what it writes', () => {
    const data = Float32Array.from([1.5, -2, 3.25, 4, 5, 6]);
    const back = readNpy(encodeNpy({ shape: [2, 3], data }));
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data as Float32Array)).toEqual(Array.from(data));
  });
  it('rejects what is not npy', () => {
    expect(() => readNpy(new Uint8Array([1, 2, 3]), 'x.npy')).toThrow(NpyFormatError);
    const good = encodeNpy({ shape: [4], data: new Float32Array(4) });
    expect(() => readNpy(good.subarray(0, good.length - 2), 'cut.npy')).toThrow(/cut\.npy: data truncated/);
  });
});
