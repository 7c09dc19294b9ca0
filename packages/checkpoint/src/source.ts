import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { CheckpointNotFoundError } from './errors.js';

/**
 * Random access to a checkpoint's bytes: a file read by offset through one descriptor (no whole-file
 * copy), or a caller's Uint8Array. Reads return views for buffers and fresh, 8-byte aligned memory
 * for files, so typed arrays can be laid over the result directly.
 */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

/** Largest single readSync: fs limits one call to 2 GiB - 1. */
const READ_CHUNK = 1 << 30;

class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | undefined;
  constructor(
    readonly name: string,
  ) {
    try {
      this.fd = openSync(name, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointNotFoundError(`${name}: no such file`);
      throw err;
    }
    try {
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }
  read(offset: number, length: number): Uint8Array {
    if (this.fd === undefined) throw new Error(`${this.name}: read after close`);
    if (offset < 0 || length < 0 || offset + length > this.size) throw new RangeError(`${this.name}: read ${offset}+${length} outside ${this.size} bytes`);
    // allocUnsafeSlow: never from the shared pool, so byteOffset is 0 and any typed array fits
    const buf = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, Math.min(READ_CHUNK, length - done), offset + done);
      if (n === 0) throw new RangeError(`${this.name}: file shrank while reading (${done} of ${length} bytes at ${offset})`);
      done += n;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, length);
  }
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

class BufferSource implements ByteSource {
  readonly size: number;
  constructor(
    readonly name: string,
    private readonly bytes: Uint8Array,
  ) {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new RangeError(`${this.name}: read ${offset}+${length} outside ${this.size} bytes`);
    return this.bytes.subarray(offset, offset + length);
  }
  close(): void {}
}

export type CheckpointInput = string | Uint8Array;

export function openSource(input: CheckpointInput, name?: string): ByteSource {
  return typeof input === 'string' ? new FileSource(input) : new BufferSource(name ?? '<buffer>', input);
}
