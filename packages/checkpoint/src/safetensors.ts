import { writeFileAtomic } from './atomic.js';
import { SafetensorsFormatError, TensorLayoutError, UnsupportedDtypeError } from './errors.js';
import { type ByteSource, type CheckpointInput, openSource } from './source.js';
import { DTYPE_BYTES, numelOf, type TensorData, type TensorDtype, type TensorRecord, toFloat32, typedView } from './tensor.js';

/**
 * safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length
 * N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`,
 * then the data buffer; offsets are relative to the buffer, which must be covered exactly.
 */

/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

const NAME_TO_DTYPE: Record<string, TensorDtype> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8',
  U64: 'uint64', U32: 'uint32', U16: 'uint16', U8: 'uint8', BOOL: 'bool',
};
const DTYPE_TO_NAME = Object.fromEntries(Object.entries(NAME_TO_DTYPE).map(([k, v]) => [v, k])) as Record<TensorDtype, string>;

export interface SafetensorsFile {
  tensors: Map<string, TensorRecord>;
  /** the `__metadata__` map (string to string), empty when absent */
  metadata: Record<string, string>;
}

export interface ReadSafetensorsOptions {
  /** Widen float16/bfloat16 to float32. */
  toFloat32?: boolean;
  /** Name used in messages when the input is a Uint8Array. */
  name?: string;
}

export function looksLikeSafetensors(head: Uint8Array, size: number): boolean {
  if (head.length < 9 || size < 10) return false;
  const n = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(size - 8) && head[8] === 0x7b;
}

export function readSafetensors(input: CheckpointInput, options: ReadSafetensorsOptions = {}): SafetensorsFile {
  const src = openSource(input, options.name);
  try {
    return readSafetensorsFrom(src, options);
  } finally {
    src.close();
  }
}

interface Entry {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(src: ByteSource): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  const s = src.name;
  const fail = (msg: string): never => {
    throw new SafetensorsFormatError(`${s}: ${msg}`);
  };
  if (src.size < 8) fail(`${src.size} bytes is too short for a safetensors file`);
  const n64 = new DataView(src.read(0, 8).slice().buffer).getBigUint64(0, true);
  if (n64 > BigInt(MAX_SAFETENSORS_HEADER)) fail(`header length ${n64} exceeds the ${MAX_SAFETENSORS_HEADER}-byte limit`);
  const n = Number(n64);
  if (8 + n > src.size) fail(`header length ${n} runs past the end of the ${src.size}-byte file (truncated?)`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(src.read(8, n)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) return fail(`entry ${name} is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') return fail(`entry ${name} has no dtype`);
    // own keys only: a header dtype such as 'constructor' must not reach Object.prototype
    const dt = Object.hasOwn(NAME_TO_DTYPE, dtype) ? NAME_TO_DTYPE[dtype] : undefined;
    if (!dt) throw new UnsupportedDtypeError(`${s}: tensor ${name} has dtype ${dtype}, which is not supported`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return fail(`entry ${name} has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return fail(`entry ${name} has bad data_offsets`);
    const [begin, end] = offsets as [number, number];
    const numel = numelOf(shape as number[]);
    const nbytes = numel * DTYPE_BYTES[dt];
    if (!Number.isSafeInteger(nbytes)) fail(`entry ${name} shape [${(shape as number[]).join(', ')}] overflows`);
    if (end < begin || end - begin !== nbytes) fail(`entry ${name}: data_offsets [${begin}, ${end}] do not hold ${dtype}[${(shape as number[]).join(', ')}] = ${nbytes} bytes`);
    if (end > dataLen) fail(`entry ${name}: data_offsets end ${end} is past the ${dataLen}-byte data buffer (truncated or lying header)`);
    entries.push({ name, dtype: dt, shape: shape as number[], begin, end });
  }
  // the buffer must be covered exactly, without holes or overlaps (as the reference reader demands)
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  for (const e of sorted) {
    if (e.begin !== expect) fail(`entry ${e.name} starts at ${e.begin}, expected ${expect} (overlapping or holed data_offsets)`);
    expect = e.end;
  }
  if (expect !== dataLen) fail(`tensors cover ${expect} bytes but the data buffer has ${dataLen}`);
  return { entries, metadata, dataStart };
}

export function readSafetensorsFrom(src: ByteSource, options: ReadSafetensorsOptions = {}): SafetensorsFile {
  const { entries, metadata, dataStart } = parseHeader(src);
  const tensors = new Map<string, TensorRecord>();
  for (const e of entries) {
    const width = DTYPE_BYTES[e.dtype];
    let bytes = src.read(dataStart + e.begin, e.end - e.begin);
    if (bytes.byteOffset % width !== 0) bytes = bytes.slice();
    const record: TensorRecord = { dtype: e.dtype, shape: e.shape, data: typedView(e.dtype, bytes.buffer, bytes.byteOffset, numelOf(e.shape)) };
    tensors.set(e.name, options.toFloat32 ? toFloat32(record) : record);
  }
  return { tensors, metadata };
}

/** Names, dtypes and shapes from the header (fully validated), without reading tensor data. */
export function readSafetensorsInfo(src: ByteSource, options: ReadSafetensorsOptions = {}): { tensors: Map<string, { dtype: TensorDtype; shape: number[] }>; metadata: Record<string, string> } {
  const { entries, metadata } = parseHeader(src);
  const widen = (d: TensorDtype): TensorDtype => (options.toFloat32 && (d === 'float16' || d === 'bfloat16') ? 'float32' : d);
  return { tensors: new Map(entries.map((e) => [e.name, { dtype: widen(e.dtype), shape: e.shape }])), metadata };
}

function expectedArray(dtype: TensorDtype): string {
  return typedView(dtype, new ArrayBuffer(0), 0, 0).constructor.name;
}

function checkRecord(name: string, t: TensorRecord, target: string): void {
  if (!Object.hasOwn(DTYPE_BYTES, t.dtype)) throw new UnsupportedDtypeError(`${target}: tensor ${name} has unknown dtype ${String(t.dtype)}`);
  if (t.data.constructor.name !== expectedArray(t.dtype)) throw new UnsupportedDtypeError(`${target}: tensor ${name} is ${t.dtype} but its data is a ${t.data.constructor.name}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new TensorLayoutError(`${target}: tensor ${name} has a bad shape [${t.shape.join(', ')}]`);
  if (numelOf(t.shape) !== t.data.length) throw new TensorLayoutError(`${target}: tensor ${name} has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
}

type TensorInput = Map<string, TensorRecord> | Record<string, TensorRecord>;

/** Header bytes (padded with spaces to 8-byte alignment) and the tensors in file order. */
function layout(tensors: TensorInput, metadata: Record<string, string> | undefined, target: string): { header: Uint8Array; order: [string, TensorRecord][] } {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  if (list.some(([name]) => name === '__metadata__')) throw new SafetensorsFormatError(`${target}: '__metadata__' cannot be a tensor name`);
  for (const [name, t] of list) checkRecord(name, t, target);
  // widest dtypes first keeps every tensor aligned to its element size in the file
  const order = list.sort(([a, ta], [b, tb]) => DTYPE_BYTES[tb.dtype] - DTYPE_BYTES[ta.dtype] || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new SafetensorsFormatError(`${target}: metadata ${k} is not a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of order) {
    const nbytes = t.data.byteLength;
    Object.defineProperty(header, name, { value: { dtype: DTYPE_TO_NAME[t.dtype], shape: t.shape, data_offsets: [offset, offset + nbytes] }, enumerable: true });
    offset += nbytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return { header: out, order };
}

function bytesOf(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The whole file in memory (for small checkpoints and tests). */
export function encodeSafetensors(tensors: TensorInput, metadata?: Record<string, string>): Uint8Array {
  const { header, order } = layout(tensors, metadata, '<buffer>');
  const total = order.reduce((n, [, t]) => n + t.data.byteLength, header.length);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.length;
  for (const [, t] of order) {
    out.set(bytesOf(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Write tensors (+ string metadata) as a safetensors file, atomically: a temporary file in the same
 * directory is written tensor by tensor (no whole-file buffer), fsynced, then renamed over `path`.
 */
export function writeSafetensors(path: string, tensors: TensorInput, metadata?: Record<string, string>): void {
  const { header, order } = layout(tensors, metadata, path);
  writeFileAtomic(path, (write) => {
    write(header);
    for (const [, t] of order) write(bytesOf(t.data));
  });
}
