/** NumPy .npy v1/v2/v3 (little-endian, C order): the exchange format for fixtures and `--out x.npy`. */

export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'int16' | 'uint16' | 'bool';
export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

export class NpyFormatError extends Error {
  override name = 'NpyFormatError';
}

const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32', '<f8': 'float64', '<i4': 'int32', '<i8': 'int64',
  '|u1': 'uint8', '|i1': 'int8', '<i2': 'int16', '<u2': 'uint16', '|b1': 'bool',
};
const BYTES: Record<NpyDtype, number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, int8: 1, int16: 2, uint16: 2, bool: 1 };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function readNpy(bytes: Uint8Array, source = '<buffer>'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyFormatError(`${source}: not a .npy file (bad magic)`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.length) throw new NpyFormatError(`${source}: truncated header`);
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyFormatError(`${source}: unreadable header ${header.trim()}`);
  if (fortran === 'True') throw new NpyFormatError(`${source}: Fortran-order arrays are not supported`);
  const dtype = DESCR[descr];
  if (!dtype) throw new NpyFormatError(`${source}: unsupported dtype ${descr}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLen;
  const nbytes = count * BYTES[dtype];
  if (start + nbytes > bytes.length) throw new NpyFormatError(`${source}: data truncated (${bytes.length - start} of ${nbytes} bytes)`);
  // copy (Buffer#slice would be a view) so the result is aligned and independent of the input
  const raw = new Uint8Array(bytes.subarray(start, start + nbytes)).buffer;
  const data: NpyData = {
    float32: () => new Float32Array(raw), float64: () => new Float64Array(raw), int32: () => new Int32Array(raw),
    int64: () => new BigInt64Array(raw), uint8: () => new Uint8Array(raw), bool: () => new Uint8Array(raw),
    int8: () => new Int8Array(raw), int16: () => new Int16Array(raw), uint16: () => new Uint16Array(raw),
  }[dtype]();
  return { dtype, shape, data };
}

const DESCR_OF: Partial<Record<NpyDtype, string>> = Object.fromEntries(Object.entries(DESCR).map(([k, v]) => [v, k]));

/** Encode an array as .npy v1.0 (the header is padded so the data starts 64-byte aligned). */
export function encodeNpy(array: { dtype?: NpyDtype; shape: readonly number[]; data: NpyData }): Uint8Array {
  const dtype = array.dtype ?? dtypeOf(array.data);
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) throw new NpyFormatError(`shape [${array.shape.join(', ')}] does not match ${array.data.length} values`);
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${DESCR_OF[dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + array.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), 10 + header.length);
  return out;
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  return 'uint8';
}
