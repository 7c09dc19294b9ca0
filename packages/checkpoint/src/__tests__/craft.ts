/** Test-only builders for hand-made zips and pickles (hostile inputs need bytes torch would never write). */
import { deflateRawSync } from 'node:zlib';

export interface CraftEntry {
  name: string;
  data: Uint8Array;
  /** store (default) or deflate */
  deflate?: boolean;
}

function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}
function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function u64(v: number): number[] {
  return [...u32(v % 2 ** 32), ...u32(Math.floor(v / 2 ** 32))];
}

/**
 * A zip archive. With `zip64`, every size/offset in the central directory is saturated and given in
 * a ZIP64 extra field, and the end record goes through a ZIP64 locator — what torch writes past 4 GB.
 */
export function craftZip(entries: CraftEntry[], options: { zip64?: boolean } = {}): Uint8Array {
  const enc = new TextEncoder();
  const parts: number[][] = [];
  const central: number[][] = [];
  let offset = 0;
  const push = (bytes: number[] | Uint8Array): void => {
    const arr = Array.from(bytes);
    parts.push(arr);
    offset += arr.length;
  };
  for (const e of entries) {
    const name = enc.encode(e.name);
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const method = e.deflate ? 8 : 0;
    const local = offset;
    push([...u32(0x04034b50), ...u16(45), ...u16(0), ...u16(method), ...u32(0), ...u32(0), ...u32(body.length), ...u32(e.data.length), ...u16(name.length), ...u16(0), ...name]);
    push(body);
    const z = options.zip64;
    const extra = z ? [...u16(1), ...u16(24), ...u64(e.data.length), ...u64(body.length), ...u64(local)] : [];
    central.push([
      ...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(0), ...u16(method), ...u32(0), ...u32(0),
      ...u32(z ? 0xffffffff : body.length), ...u32(z ? 0xffffffff : e.data.length), ...u16(name.length), ...u16(extra.length), ...u16(0),
      ...u16(0), ...u16(0), ...u32(0), ...u32(z ? 0xffffffff : local), ...name, ...extra,
    ]);
  }
  const cdStart = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdStart;
  if (options.zip64) {
    const rec = offset;
    push([...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0), ...u64(entries.length), ...u64(entries.length), ...u64(cdSize), ...u64(cdStart)]);
    push([...u32(0x07064b50), ...u32(0), ...u64(rec), ...u32(1)]);
    push([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(0)]);
  } else {
    push([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length), ...u32(cdSize), ...u32(cdStart), ...u16(0)]);
  }
  return Uint8Array.from(parts.flat());
}

/** Pickle bytes from opcodes (numbers) and literal text/bytes pieces. */
export function pk(...pieces: (number | string | Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of pieces) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...new TextEncoder().encode(p));
    else out.push(...Array.from(p));
  }
  return Uint8Array.from(out);
}

/** BINUNICODE of a string */
export function str(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [0x58, ...u32(b.length), ...Array.from(b)];
}

export function int(v: number): number[] {
  return [0x4a, ...u32(v >>> 0)];
}

/** A protocol-2 torch pickle for `{name: tensor}` with a hand-chosen storage and view. */
export function tensorPickle(o: { name?: string; storage?: string; key?: string; numel: number; offset: number; size: number[]; stride: number[] }): Uint8Array {
  const tuple = (xs: number[]): number[] => [0x28, ...xs.flatMap(int), 0x74];
  return pk(
    0x80, 2, 0x7d, 0x28, ...str(o.name ?? 'w'),
    0x63, 'torch._utils\n_rebuild_tensor_v2\n',
    0x28,
    0x28, ...str('storage'), 0x63, `torch\n${o.storage ?? 'FloatStorage'}\n`, ...str(o.key ?? '0'), ...str('cpu'), ...int(o.numel), 0x74, 0x51,
    ...int(o.offset), ...tuple(o.size), ...tuple(o.stride), 0x89, 0x63, 'collections\nOrderedDict\n', 0x29, 0x52,
    0x74, 0x52,
    0x75, 0x2e,
  );
}

/** A torch.save-shaped zip (prefix/data.pkl, prefix/data/<key>, prefix/version). */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array>, options: { prefix?: string; zip64?: boolean; deflate?: boolean } = {}): Uint8Array {
  const prefix = options.prefix ?? 'archive/';
  return craftZip(
    [
      { name: `${prefix}data.pkl`, data: pickle, deflate: options.deflate },
      ...Object.entries(storages).map(([k, data]) => ({ name: `${prefix}data/${k}`, data, deflate: options.deflate })),
      { name: `${prefix}version`, data: new TextEncoder().encode('3\n') },
    ],
    { zip64: options.zip64 },
  );
}

export function f32bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
