import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { BankExistsError, BankMismatchError, CorruptBankFileError } from './errors.js';

/** Bumped whenever a saved file's layout changes; `load` refuses other versions instead of misreading them. */
export const FORMAT_VERSION = 1;

export interface SaveOptions {
  /** Replace a bank/detector already saved in the directory (default false: throw BankExistsError). */
  overwrite?: boolean;
}

export interface FileEntry {
  name: string;
  bytes: number;
  sha256: string;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A temp name beside `file`, so the final rename stays on one filesystem (and is therefore atomic). */
export function tempPath(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes through a temp file + rename: a crash leaves the old file or the new one, never half of one. */
export function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = tempPath(file);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Prepares `dir` for a save: creates it, and refuses to replace an existing manifest unless asked to. */
export function prepareDir(dir: string, manifestName: string, options: SaveOptions | undefined): void {
  mkdirSync(dir, { recursive: true });
  const manifest = join(dir, manifestName);
  if (existsSync(manifest) && options?.overwrite !== true) throw new BankExistsError(manifest);
}

/**
 * Writes a manifest whose `checksum` covers every other field, so a hand-edited count, dimension or
 * id list is caught on load, not just damaged data files.
 */
export function writeManifest(file: string, body: Record<string, unknown>): string {
  const text = JSON.stringify({ ...body, checksum: sha256(JSON.stringify(body)) }, null, 1) + '\n';
  writeAtomic(file, text);
  return sha256(text);
}

/** Reads and verifies a manifest written by `writeManifest`; returns its fields and the file's own sha256. */
export function readManifest(file: string, format: string): { body: Record<string, unknown>; fileSha256: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CorruptBankFileError(file, `cannot read the manifest (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CorruptBankFileError(file, 'the manifest is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CorruptBankFileError(file, 'the manifest is not a JSON object');
  const { checksum, ...body } = parsed as Record<string, unknown>;
  if (typeof checksum !== 'string' || checksum !== sha256(JSON.stringify(body))) {
    throw new CorruptBankFileError(file, 'the manifest checksum does not match its contents');
  }
  if (body.format !== format) {
    throw new BankMismatchError(file, `expected a '${format}' manifest, found format '${String(body.format)}'`);
  }
  if (body.formatVersion !== FORMAT_VERSION) {
    throw new BankMismatchError(file, `format version ${String(body.formatVersion)} is not supported (this version reads ${FORMAT_VERSION})`);
  }
  return { body, fileSha256: sha256(text) };
}

/** Reads a data file listed in a manifest, checking its size and sha256 before anything parses it. */
export function readVerified(dir: string, entry: FileEntry, manifestFile: string): Buffer {
  const file = join(dir, entry.name);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new CorruptBankFileError(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}), though ${manifestFile} lists it`);
  }
  if (data.length !== entry.bytes) throw new CorruptBankFileError(file, `it has ${data.length} bytes, the manifest says ${entry.bytes}`);
  if (sha256(data) !== entry.sha256) throw new CorruptBankFileError(file, 'its sha256 does not match the manifest');
  return data;
}

/** Field readers that turn a malformed manifest into a typed error instead of a TypeError later. */
export function field(body: Record<string, unknown>, key: string, file: string): unknown {
  if (!(key in body)) throw new CorruptBankFileError(file, `the manifest has no '${key}' field`);
  return body[key];
}

export function intField(body: Record<string, unknown>, key: string, file: string, min: number): number {
  const v = field(body, key, file);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new CorruptBankFileError(file, `manifest field '${key}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

export function stringArrayField(body: Record<string, unknown>, key: string, file: string): string[] {
  const v = field(body, key, file);
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new CorruptBankFileError(file, `manifest field '${key}' must be an array of strings`);
  return v;
}

export function fileEntry(body: Record<string, unknown>, key: string, file: string): FileEntry {
  const v = field(body, key, file) as Partial<FileEntry> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.name !== 'string' ||
    v.name.includes('/') ||
    v.name.includes('\\') ||
    typeof v.bytes !== 'number' ||
    typeof v.sha256 !== 'string'
  ) {
    throw new CorruptBankFileError(file, `manifest field '${key}' must be { name, bytes, sha256 } naming a file in the same directory`);
  }
  return { name: v.name, bytes: v.bytes, sha256: v.sha256 };
}
