import * as zlib from 'node:zlib';

import { writeFileAtomic } from './atomic.js';
import { TensorLayoutError, UnsupportedDtypeError } from './errors.js';
import { numelOf, type TensorData, type TensorDtype, type TensorRecord } from './tensor.js';

/**
 * Writes checkpoints that `torch.load` reads: the torch.save zip layout (`<prefix>/data.pkl`,
 * `<prefix>/data/<key>`, `<prefix>/version`), STORED members with data aligned to 64 bytes as
 * torch's own writer does, CRC-32s, ZIP64 records when the file passes 4 GiB, and a protocol-2
 * pickle of plain data with tensors as `torch._utils._rebuild_tensor_v2` calls.
 */

/** Plain data a written checkpoint may hold besides tensors. */
export type TorchValue = null | boolean | number | bigint | string | TensorRecord | TorchValue[] | Map<string, TorchValue> | { [key: string]: TorchValue };

const STORAGE_CLASS: Record<TensorDtype, string | undefined> = {
  float64: 'DoubleStorage', float32: 'FloatStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', int32: 'IntStorage', int16: 'ShortStorage', int8: 'CharStorage',
  uint8: 'ByteStorage', bool: 'BoolStorage', uint16: undefined, uint32: undefined, uint64: undefined,
};

function isTensorRecord(x: unknown): x is TensorRecord {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Map) && 'data' in x && 'shape' in x && 'dtype' in x && ArrayBuffer.isView((x as TensorRecord).data);
}

class PickleWriter {
  private chunks: number[] = [];
  readonly storages: { key: string; data: TensorData }[] = [];
  private readonly keyOf = new Map<TensorData, string>();
  /** memo slots of tensors already written: the same record again is one object in torch too */
  private readonly memoOf = new Map<TensorRecord, number>();
  private readonly enc = new TextEncoder();

  byte(...b: number[]): void {
    for (const x of b) this.chunks.push(x);
  }
  u32(v: number): void {
    this.byte(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  str(s: string): void {
    const b = this.enc.encode(s);
    this.byte(0x58);
    this.u32(b.length);
    for (const x of b) this.chunks.push(x);
  }
  global(module: string, name: string): void {
    this.byte(0x63);
    for (const x of this.enc.encode(`${module}\n${name}\n`)) this.chunks.push(x);
  }
  int(v: number | bigint): void {
    if (typeof v === 'number' && v >= -(2 ** 31) && v < 2 ** 31) {
      this.byte(0x4a);
      this.u32(v >>> 0);
      return;
    }
    // LONG1: little-endian two's complement, as short as the sign allows
    let x = BigInt(v);
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      const top = bytes[bytes.length - 1]!;
      if ((x === 0n && (top & 0x80) === 0) || (x === -1n && (top & 0x80) !== 0)) break;
    }
    this.byte(0x8a, bytes.length, ...bytes);
  }
  float(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    this.byte(0x47, ...b);
  }
  tuple(items: number[]): void {
    this.byte(0x28);
    for (const i of items) this.int(i);
    this.byte(0x74);
  }
  tensor(t: TensorRecord, where: string): void {
    const slot = this.memoOf.get(t);
    if (slot !== undefined) {
      this.byte(0x6a); // LONG_BINGET
      return this.u32(slot);
    }
    const cls = Object.hasOwn(STORAGE_CLASS, t.dtype) ? STORAGE_CLASS[t.dtype] : undefined;
    if (!cls) throw new UnsupportedDtypeError(`${where}: torch has no ${t.dtype} storage to write`);
    if (numelOf(t.shape) !== t.data.length) throw new TensorLayoutError(`${where}: shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    // the same data array written twice (tied weights) becomes one shared storage, as in torch
    let key = this.keyOf.get(t.data);
    if (key === undefined) {
      key = String(this.storages.length);
      this.keyOf.set(t.data, key);
      this.storages.push({ key, data: t.data });
    }
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.byte(0x28, 0x28); // args tuple, persistent id tuple
    this.str('storage');
    this.global('torch', cls);
    this.str(key);
    this.str('cpu');
    this.int(t.data.length);
    this.byte(0x74, 0x51); // TUPLE, BINPERSID
    this.int(0);
    this.tuple(t.shape);
    const stride = new Array<number>(t.shape.length);
    for (let i = t.shape.length - 1, acc = 1; i >= 0; i--) {
      stride[i] = acc;
      acc *= t.shape[i]!;
    }
    this.tuple(stride);
    this.byte(0x89); // requires_grad False
    this.global('collections', 'OrderedDict');
    this.byte(0x29, 0x52); // OrderedDict() backward hooks
    this.byte(0x74, 0x52); // TUPLE, REDUCE
    const n = this.memoOf.size;
    this.memoOf.set(t, n);
    this.byte(0x72); // LONG_BINPUT
    this.u32(n);
  }
  value(v: TorchValue, where: string, ordered = false): void {
    if (v === null) return this.byte(0x4e);
    if (typeof v === 'boolean') return this.byte(v ? 0x88 : 0x89);
    if (typeof v === 'bigint') return this.int(v);
    if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? this.int(v) : this.float(v);
    if (typeof v === 'string') return this.str(v);
    if (isTensorRecord(v)) return this.tensor(v, where);
    if (Array.isArray(v)) {
      this.byte(0x5d, 0x28);
      v.forEach((x, i) => this.value(x, `${where}.${i}`));
      return this.byte(0x65);
    }
    const entries = v instanceof Map ? [...v] : Object.entries(v);
    if (ordered) {
      this.global('collections', 'OrderedDict');
      this.byte(0x29, 0x52);
    } else this.byte(0x7d);
    this.byte(0x28);
    for (const [k, x] of entries) {
      this.str(k);
      this.value(x, where === '' ? k : `${where}.${k}`);
    }
    this.byte(0x75);
  }
  finish(): Uint8Array {
    this.byte(0x2e);
    return Uint8Array.from(this.chunks);
  }
}

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** zlib.crc32 where Node has it (>= 20.15), a table otherwise. */
function crc32(b: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(b) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const U32_MAX = 0xffffffff;

/** Exported for tests: `zip64At` lowers the 4 GiB threshold so the ZIP64 path can be exercised small. */
export class ZipWriter {
  private offset = 0;
  private readonly central: Uint8Array[] = [];
  private count = 0;
  constructor(
    private readonly write: (b: Uint8Array) => void,
    private readonly zip64At = U32_MAX,
  ) {}

  private emit(b: Uint8Array): void {
    this.write(b);
    this.offset += b.length;
  }

  add(name: string, data: Uint8Array): void {
    const nameBytes = new TextEncoder().encode(name);
    const crc = crc32(data);
    const size = data.length;
    const big = size >= this.zip64At || this.offset >= this.zip64At;
    const zip64Local = big ? 20 : 0;
    // pad the local extra field so the data starts on a 64-byte boundary (torch's 'FB' padding)
    const before = this.offset + 30 + nameBytes.length + zip64Local;
    const pad = (64 - ((before + 4) % 64)) % 64;
    const local = new Uint8Array(30 + nameBytes.length + zip64Local + 4 + pad);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, big ? 45 : 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, big ? U32_MAX : size, true);
    lv.setUint32(22, big ? U32_MAX : size, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, zip64Local + 4 + pad, true);
    local.set(nameBytes, 30);
    let e = 30 + nameBytes.length;
    if (big) {
      lv.setUint16(e, 1, true);
      lv.setUint16(e + 2, 16, true);
      lv.setBigUint64(e + 4, BigInt(size), true);
      lv.setBigUint64(e + 12, BigInt(size), true);
      e += 20;
    }
    lv.setUint16(e, 0x4246, true); // 'FB'
    lv.setUint16(e + 2, pad, true);
    const headerOffset = this.offset;
    this.emit(local);
    this.emit(data);

    const needs64 = size >= this.zip64At || headerOffset >= this.zip64At;
    const extra = needs64 ? 28 : 0;
    const c = new Uint8Array(46 + nameBytes.length + extra);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, needs64 ? 45 : 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, needs64 ? U32_MAX : size, true);
    cv.setUint32(24, needs64 ? U32_MAX : size, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint16(30, extra, true);
    cv.setUint32(42, needs64 ? U32_MAX : headerOffset, true);
    c.set(nameBytes, 46);
    if (needs64) {
      const x = 46 + nameBytes.length;
      cv.setUint16(x, 1, true);
      cv.setUint16(x + 2, 24, true);
      cv.setBigUint64(x + 4, BigInt(size), true);
      cv.setBigUint64(x + 12, BigInt(size), true);
      cv.setBigUint64(x + 20, BigInt(headerOffset), true);
    }
    this.central.push(c);
    this.count++;
  }

  finish(): void {
    const cdStart = this.offset;
    for (const c of this.central) this.emit(c);
    const cdSize = this.offset - cdStart;
    const needs64 = cdStart >= this.zip64At || this.count >= 0xffff;
    if (needs64) {
      const rec = this.offset;
      const r = new Uint8Array(56 + 20);
      const rv = new DataView(r.buffer);
      rv.setUint32(0, 0x06064b50, true);
      rv.setBigUint64(4, 44n, true);
      rv.setUint16(12, 45, true);
      rv.setUint16(14, 45, true);
      rv.setBigUint64(24, BigInt(this.count), true);
      rv.setBigUint64(32, BigInt(this.count), true);
      rv.setBigUint64(40, BigInt(cdSize), true);
      rv.setBigUint64(48, BigInt(cdStart), true);
      rv.setUint32(56, 0x07064b50, true);
      rv.setBigUint64(64, BigInt(rec), true);
      rv.setUint32(72, 1, true);
      this.emit(r);
    }
    const end = new Uint8Array(22);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, needs64 ? 0xffff : this.count, true);
    ev.setUint16(10, needs64 ? 0xffff : this.count, true);
    ev.setUint32(12, needs64 ? U32_MAX : cdSize, true);
    ev.setUint32(16, needs64 ? U32_MAX : cdStart, true);
    this.emit(end);
  }
}

export interface WriteTorchOptions {
  /**
   * Where the state dict goes: '' writes it as the root (like `torch.save(model.state_dict())`),
   * a key such as 'model' writes `{ ...meta, model: state_dict }` (BEATs' layout). Default 'model'
   * when `meta` is given, else ''.
   */
  stateDictKey?: string;
  /** the archive's folder name inside the zip (torch uses the file's stem); default 'archive' */
  prefix?: string;
}

/**
 * Write tensors (and plain-data meta) as a checkpoint that `torch.load` reads, atomically (temp
 * file, fsync, rename). Tensors sharing one data array are written as one shared storage.
 */
export function writeTorchCheckpoint(path: string, tensors: Map<string, TensorRecord> | Record<string, TensorRecord>, meta?: { [key: string]: TorchValue }, options: WriteTorchOptions = {}): void {
  const key = options.stateDictKey ?? (meta ? 'model' : '');
  const stateDict = new Map<string, TorchValue>(tensors instanceof Map ? [...tensors] : Object.entries(tensors));
  const pw = new PickleWriter();
  pw.byte(0x80, 2);
  if (key === '') {
    if (meta && Object.keys(meta).length > 0) throw new TensorLayoutError(`${path}: meta needs a stateDictKey to sit beside the state dict`);
    pw.value(stateDict, '', true);
  } else {
    pw.byte(0x7d, 0x28);
    for (const [k, v] of Object.entries(meta ?? {})) {
      if (k === key) throw new TensorLayoutError(`${path}: meta key '${k}' collides with the state dict key`);
      pw.str(k);
      pw.value(v, k);
    }
    pw.str(key);
    pw.value(stateDict, key, true);
    pw.byte(0x75);
  }
  const pickle = pw.finish();
  const prefix = options.prefix ?? 'archive';
  writeFileAtomic(path, (write) => {
    const zip = new ZipWriter(write);
    zip.add(`${prefix}/data.pkl`, pickle);
    for (const s of pw.storages) zip.add(`${prefix}/data/${s.key}`, new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength));
    zip.add(`${prefix}/version`, new TextEncoder().encode('3\n'));
    zip.finish();
  });
}
