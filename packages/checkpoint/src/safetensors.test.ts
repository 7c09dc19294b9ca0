import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { SafetensorsFormatError, UnsupportedDtypeError } from './errors.js';
import { encodeSafetensors, readSafetensors, writeSafetensors } from './safetensors.js';
import { type TensorRecord } from './tensor.js';

function header(json: unknown, data: Uint8Array = new Uint8Array(0), lie?: bigint): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lie ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  const tensors = new Map<string, TensorRecord>([
    ['w', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }],
    ['h', { dtype: 'float16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x3555]) }],
    ['step', { dtype: 'int64', shape: [], data: BigInt64Array.from([42n]) }],
    ['mask', { dtype: 'bool', shape: [1], data: Uint8Array.from([1]) }],
  ]);

  it('writes atomically and reads back the same tensors and metadata', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'model.safetensors');
    writeSafetensors(path, tensors, { format: 'pt', backbone: 'beats' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ format: 'pt', backbone: 'beats' });
    expect([...back.tensors.keys()].sort()).toEqual(['h', 'mask', 'step', 'w']);
    for (const [name, t] of tensors) {
      const b = back.tensors.get(name)!;
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(Array.from(b.data as ArrayLike<number>)).toEqual(Array.from(t.data as ArrayLike<number>));
    }
    const wide = readSafetensors(path, { toFloat32: true }).tensors.get('h')!;
    expect(wide.dtype).toBe('float32');
    expect(Array.from(wide.data as Float32Array)).toEqual([1, -2, 0.333251953125]);
  });

  it('lays the header out as the published format does', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as unknown;
    expect(json).toEqual({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(bytes.length).toBe(8 + n + 8);
  });

  it('rejects a huge header length without allocating it', () => {
    const evil = header({}, new Uint8Array(0), 1n << 40n);
    expect(() => readSafetensors(evil, { name: 'huge.safetensors' })).toThrow(SafetensorsFormatError);
    expect(() => readSafetensors(evil, { name: 'huge.safetensors' })).toThrow(/huge\.safetensors: header length 1099511627776 exceeds/);
    const past = header({}, new Uint8Array(0), 5000n);
    expect(() => readSafetensors(past, { name: 'p' })).toThrow(/runs past the end/);
  });

  it('rejects offsets that lie', () => {
    const data = new Uint8Array(16);
    const cases: [unknown, RegExp][] = [
      [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } }, /do not hold F32\[2\] = 8 bytes/],
      [{ a: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, /past the 16-byte data buffer/],
      [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, /overlapping or holed/],
      [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, /cover 8 bytes but the data buffer has 16/],
      [{ a: { dtype: 'F32', shape: [1e300], data_offsets: [0, 8] } }, /bad shape|overflows/],
      [{ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } }, /bad shape/],
      [[1, 2], /not a JSON object/],
    ];
    for (const [json, msg] of cases) {
      expect(() => readSafetensors(header(json, data), { name: 'lie.safetensors' })).toThrow(SafetensorsFormatError);
      expect(() => readSafetensors(header(json, data), { name: 'lie.safetensors' })).toThrow(msg);
    }
    expect(() => readSafetensors(header({ a: { dtype: 'C64', shape: [2], data_offsets: [0, 16] } }, data))).toThrow(UnsupportedDtypeError);
    expect(() => readSafetensors(header({ a: { dtype: 'constructor', shape: [2], data_offsets: [0, 16] } }, data))).toThrow(UnsupportedDtypeError);
    const broken = header({ a: 1 });
    broken[9] = 0xff;
    expect(() => readSafetensors(broken)).toThrow(SafetensorsFormatError);
  });

  it('refuses to write data that does not match its shape or dtype', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    expect(() => writeSafetensors(join(dir, 'x.safetensors'), { a: { dtype: 'float32', shape: [3], data: new Float32Array(2) } })).toThrow(/shape \[3\] but 2 values/);
    expect(() => writeSafetensors(join(dir, 'x.safetensors'), { a: { dtype: 'float32', shape: [2], data: new Float64Array(2) } })).toThrow(UnsupportedDtypeError);
    writeFileSync(join(dir, 'keep.safetensors'), 'old');
    expect(() => writeSafetensors(join(dir, 'keep.safetensors'), { a: { dtype: 'int32', shape: [2], data: new Float32Array(2) } })).toThrow();
    expect(readFileSync(join(dir, 'keep.safetensors'), 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['keep.safetensors']);
  });
});
