import { inflateRawSync } from 'node:zlib';

import { ZipFormatError } from './errors.js';
import { type ByteSource } from './source.js';

/** One member of a zip archive, located by its central-directory record. */
export interface ZipEntry {
  name: string;
  /** 0 = stored (what torch.save writes), 8 = deflate. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header; the data offset is resolved on first read. */
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(dv: DataView, at: number, what: string, source: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(`${source}: ${what} ${v} is out of range`);
  return Number(v);
}

/** Starts with a local file header: what every torch.save zip does. */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && view(head).getUint32(0, true) === SIG_LOCAL;
}

/**
 * A reader for the zip container torch.save writes (STORED entries, 64-byte aligned data, ZIP64 for
 * large files). Only the central directory is read up front; member data is read by offset on demand.
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly dataOffsets = new Map<string, number>();

  constructor(readonly src: ByteSource) {
    const source = src.name;
    if (src.size < 22) throw new ZipFormatError(`${source}: ${src.size} bytes is too short for a zip archive (truncated?)`);
    const tailLen = Math.min(src.size, 22 + U16_MAX);
    const tailStart = src.size - tailLen;
    const tail = src.read(tailStart, tailLen);
    const tv = view(tail);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === SIG_EOCD && i + 22 + tv.getUint16(i + 20, true) === tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipFormatError(`${source}: no end-of-central-directory record; the zip is truncated or not a zip`);
    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      const loc = eocd - 20;
      if (loc < 0 || tv.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) throw new ZipFormatError(`${source}: ZIP64 sizes without a ZIP64 locator`);
      const recOffset = u64(tv, loc + 8, 'ZIP64 record offset', source);
      if (recOffset + 56 > src.size) throw new ZipFormatError(`${source}: ZIP64 record past the end of the file (truncated?)`);
      const rv = view(src.read(recOffset, 56));
      if (rv.getUint32(0, true) !== SIG_ZIP64_EOCD) throw new ZipFormatError(`${source}: bad ZIP64 end-of-central-directory record`);
      count = u64(rv, 32, 'entry count', source);
      cdSize = u64(rv, 40, 'central directory size', source);
      cdOffset = u64(rv, 48, 'central directory offset', source);
    }
    if (cdOffset + cdSize > src.size) throw new ZipFormatError(`${source}: central directory (${cdOffset}+${cdSize}) runs past the end of the ${src.size}-byte file (truncated?)`);
    // every record is at least 46 bytes: a lying count cannot make us loop or allocate beyond the directory
    if (count * 46 > cdSize) throw new ZipFormatError(`${source}: ${count} entries cannot fit a ${cdSize}-byte central directory`);
    const cd = src.read(cdOffset, cdSize);
    const cv = view(cd);
    const decoder = new TextDecoder('utf-8');
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cdSize || cv.getUint32(p, true) !== SIG_CENTRAL) throw new ZipFormatError(`${source}: central directory record ${k} is damaged`);
      const method = cv.getUint16(p + 10, true);
      let compressedSize = cv.getUint32(p + 20, true);
      let size = cv.getUint32(p + 24, true);
      const nameLen = cv.getUint16(p + 28, true);
      const extraLen = cv.getUint16(p + 30, true);
      const commentLen = cv.getUint16(p + 32, true);
      let localHeaderOffset = cv.getUint32(p + 42, true);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cdSize) throw new ZipFormatError(`${source}: central directory record ${k} runs past the directory`);
      const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: only the fields whose 32-bit slot is saturated are present, in this order
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cv.getUint16(e, true);
        const len = cv.getUint16(e + 2, true);
        if (e + 4 + len > extraEnd) throw new ZipFormatError(`${source}: bad extra field in ${name}`);
        if (id === 0x0001) {
          let q = e + 4;
          const take = (what: string): number => {
            if (q + 8 > e + 4 + len) throw new ZipFormatError(`${source}: short ZIP64 field for ${name}`);
            const v = u64(cv, q, what, source);
            q += 8;
            return v;
          };
          if (size === U32_MAX) size = take('size');
          if (compressedSize === U32_MAX) compressedSize = take('compressed size');
          if (localHeaderOffset === U32_MAX) localHeaderOffset = take('header offset');
        }
        e += 4 + len;
      }
      if (localHeaderOffset + 30 + compressedSize > src.size) {
        throw new ZipFormatError(`${source}: member ${name} (${compressedSize} bytes at ${localHeaderOffset}) runs past the end of the ${src.size}-byte file (truncated?)`);
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      p = end;
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new ZipFormatError(`${this.src.name}: no member ${name} in the archive`);
    return e;
  }

  private dataOffset(e: ZipEntry): number {
    const known = this.dataOffsets.get(e.name);
    if (known !== undefined) return known;
    const lv = view(this.src.read(e.localHeaderOffset, 30));
    if (lv.getUint32(0, true) !== SIG_LOCAL) throw new ZipFormatError(`${this.src.name}: bad local header for ${e.name}`);
    const offset = e.localHeaderOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
    if (offset + e.compressedSize > this.src.size) throw new ZipFormatError(`${this.src.name}: data of ${e.name} runs past the end of the file (truncated?)`);
    this.dataOffsets.set(e.name, offset);
    return offset;
  }

  /**
   * Bytes [start, start+length) of a member. Stored members are read straight from their offset;
   * deflated ones (an archive someone re-zipped) are inflated whole first.
   */
  read(name: string, start = 0, length?: number): Uint8Array {
    const e = this.entry(name);
    const len = length ?? e.size - start;
    if (start < 0 || len < 0 || start + len > e.size) throw new ZipFormatError(`${this.src.name}: read ${start}+${len} outside member ${name} of ${e.size} bytes`);
    const offset = this.dataOffset(e);
    if (e.method === 0) {
      if (e.compressedSize !== e.size) throw new ZipFormatError(`${this.src.name}: stored member ${name} has inconsistent sizes`);
      return this.src.read(offset + start, len);
    }
    if (e.method === 8) {
      let full: Buffer;
      try {
        full = inflateRawSync(this.src.read(offset, e.compressedSize), { maxOutputLength: Math.max(e.size, 1) });
      } catch (err) {
        throw new ZipFormatError(`${this.src.name}: cannot inflate ${name}: ${(err as Error).message}`);
      }
      if (full.length !== e.size) throw new ZipFormatError(`${this.src.name}: ${name} inflates to ${full.length} bytes, directory says ${e.size}`);
      return new Uint8Array(full.buffer, full.byteOffset, full.length).slice(start, start + len);
    }
    throw new ZipFormatError(`${this.src.name}: member ${name} uses zip compression method ${e.method}; only stored and deflate are supported`);
  }
}
