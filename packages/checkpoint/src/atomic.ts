import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * What to write: text, bytes, or a producer that streams the file through `write` chunk by chunk
 * (checkpoints and ONNX models are written tensor by tensor, never as one whole-file buffer).
 */
export type AtomicContent = string | Uint8Array | ((write: (bytes: Uint8Array) => void) => void);

/**
 * Write `path` via a temporary sibling + fsync + rename: readers (and a crash) never see half a
 * file, and an existing file is only replaced by a complete one. Creates the parent directory.
 */
export function writeFileAtomic(path: string, content: AtomicContent): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(tmp, 'wx');
  let ok = false;
  try {
    const write = (bytes: Uint8Array): void => {
      let done = 0;
      // writeSync takes at most 2 GiB per call
      while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    };
    if (typeof content === 'function') content(write);
    else write(typeof content === 'string' ? new TextEncoder().encode(content) : content);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) rmSync(tmp, { force: true });
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Pretty-printed JSON with a trailing newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
