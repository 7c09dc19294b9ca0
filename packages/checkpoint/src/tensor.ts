import { TensorLayoutError } from './errors.js';

/**
 * Element types. float16 and bfloat16 are kept as their raw 16-bit patterns (Uint16Array) unless
 * the reader is asked to widen them to float32; bool is one byte per element (0/1).
 */
export type TensorDtype =
  | 'float64' | 'float32' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8'
  | 'uint64' | 'uint32' | 'uint16' | 'uint8' | 'bool';

export type TensorData =
  | Float64Array | Float32Array | Uint16Array
  | BigInt64Array | Int32Array | Int16Array | Int8Array
  | BigUint64Array | Uint32Array | Uint8Array;

export interface TensorRecord {
  dtype: TensorDtype;
  shape: number[];
  /** row-major (C order) element data, exactly `shape` product long */
  data: TensorData;
}

export const DTYPE_BYTES: Record<TensorDtype, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2,
  int64: 8, int32: 4, int16: 2, int8: 1,
  uint64: 8, uint32: 4, uint16: 2, uint8: 1, bool: 1,
};

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A typed array of the dtype's element type over `bytes` (which must be aligned to the element size). */
export function typedView(dtype: TensorDtype, buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData {
  switch (dtype) {
    case 'float64':
      return new Float64Array(buffer, byteOffset, length);
    case 'float32':
      return new Float32Array(buffer, byteOffset, length);
    case 'float16':
    case 'bfloat16':
    case 'uint16':
      return new Uint16Array(buffer, byteOffset, length);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, length);
    case 'uint64':
      return new BigUint64Array(buffer, byteOffset, length);
    case 'int32':
      return new Int32Array(buffer, byteOffset, length);
    case 'uint32':
      return new Uint32Array(buffer, byteOffset, length);
    case 'int16':
      return new Int16Array(buffer, byteOffset, length);
    case 'int8':
      return new Int8Array(buffer, byteOffset, length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, byteOffset, length);
  }
}

/** The dtype a typed array most naturally holds (Uint16Array is taken as float16 bits). */
export function dtypeOfData(data: TensorData): TensorDtype {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Uint16Array) return 'float16';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  return 'uint8';
}

let halfTable: Float32Array | undefined;

/** float16 bit patterns -> float32, through a 64 Ki-entry table (exact: every half is a float). */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      let v: number;
      if (exp === 0) v = frac * 2 ** -24;
      else if (exp === 31) v = frac === 0 ? Infinity : NaN;
      else v = (1 + frac / 1024) * 2 ** (exp - 15);
      halfTable[h] = sign * v;
    }
  }
  const t = halfTable;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}

/** bfloat16 bit patterns -> float32: they are the top half of a float32. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

/** Widen a float16/bfloat16 record to float32; other dtypes come back unchanged. */
export function toFloat32(t: TensorRecord): TensorRecord {
  if (t.dtype === 'float16') return { dtype: 'float32', shape: t.shape, data: halfToFloat32(t.data as Uint16Array) };
  if (t.dtype === 'bfloat16') return { dtype: 'float32', shape: t.shape, data: bfloat16ToFloat32(t.data as Uint16Array) };
  return t;
}

/** C-contiguous strides for a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue; // a size-1 dim's stride is irrelevant
    if (stride[i] !== expect) return false;
    expect *= shape[i]!;
  }
  return true;
}

export interface StridedLayout {
  shape: number[];
  stride: number[];
  /** element offset into the storage */
  offset: number;
}

/**
 * Checks a (shape, stride, offset) view against a storage of `storageNumel` elements: integral,
 * non-negative, no overflow, every addressed element inside the storage. Returns the element count.
 */
export function checkLayout(layout: StridedLayout, storageNumel: number, what: string): number {
  const { shape, stride, offset } = layout;
  if (shape.length !== stride.length) throw new TensorLayoutError(`${what}: size has ${shape.length} dims but stride has ${stride.length}`);
  const ints = [offset, ...shape, ...stride];
  if (!ints.every((x) => Number.isSafeInteger(x) && x >= 0)) throw new TensorLayoutError(`${what}: size/stride/offset must be non-negative integers (size [${shape.join(', ')}], stride [${stride.join(', ')}], offset ${offset})`);
  let numel = 1;
  let last = offset;
  for (let i = 0; i < shape.length; i++) {
    numel *= shape[i]!;
    if (shape[i]! > 0) last += (shape[i]! - 1) * stride[i]!;
  }
  if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(last)) throw new TensorLayoutError(`${what}: size [${shape.join(', ')}] overflows`);
  if (numel > 0 && last >= storageNumel) {
    throw new TensorLayoutError(`${what}: view (size [${shape.join(', ')}], stride [${stride.join(', ')}], offset ${offset}) reaches element ${last} of a ${storageNumel}-element storage`);
  }
  return numel;
}

/** Copy a strided view out of `src` (a typed array over the whole storage) into a fresh C-order array. */
export function gatherStrided<T extends TensorData>(src: T, layout: StridedLayout, make: (n: number) => T): T {
  const { shape, stride, offset } = layout;
  const numel = numelOf(shape);
  const out = make(numel);
  if (numel === 0) return out;
  const nd = shape.length;
  if (nd === 0) {
    (out as unknown as number[])[0] = (src as unknown as number[])[offset]!;
    return out;
  }
  const inner = shape[nd - 1]!;
  const innerStride = stride[nd - 1]!;
  const idx = new Array<number>(nd - 1).fill(0);
  const o = out as unknown as number[];
  const s = src as unknown as number[];
  let base = offset;
  let w = 0;
  for (;;) {
    for (let j = 0, r = base; j < inner; j++, r += innerStride) o[w++] = s[r]!;
    // odometer over the outer dims
    let d = nd - 2;
    while (d >= 0) {
      idx[d]!++;
      base += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= idx[d]! * stride[d]!;
      idx[d] = 0;
      d--;
    }
    if (d < 0) return out;
  }
}
