import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  BankExistsError,
  BankMismatchError,
  CorruptBankFileError,
  ExactBank,
  HnswBank,
  loadBank,
  type KnnBank,
} from './index.js';
import { gaussianRows } from './__tests__/random.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'knn-persist-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const dim = 12;
const rows = gaussianRows(200, dim, 41);
const queries = gaussianRows(20, dim, 42);
const ids = rows.map((_, i) => `normal_id_00_${String(i).padStart(8, '0')}.wav`);

describe.each([
  ['exact', (): KnnBank => new ExactBank({ dim, k: 2 })],
  ['hnsw', (): KnnBank => new HnswBank({ dim, k: 2, m: 12, efSearch: 77, seed: 5 })],
] as const)('%s bank save / load', (kind, make) => {
  it('round-trips: same manifest fields, ids and search results', () => {
    const bank = make();
    bank.add(rows, ids);
    const dir = tmp();
    bank.save(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'anopatch-knn-bank', formatVersion: 1, kind, metric: 'cosine', dim, k: 2, count: 200 });
    expect(manifest.ids).toEqual(ids);
    expect(typeof manifest.checksum).toBe('string');
    // Atomic writes leave no temp files behind.
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const loaded = loadBank(dir, { dim });
    expect(loaded.kind).toBe(kind);
    expect(loaded.size).toBe(200);
    expect(loaded.k).toBe(2);
    expect(loaded.ids).toEqual(ids);
    const a = bank.search(queries);
    const b = loaded.search(queries);
    expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
    expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
    if (loaded instanceof HnswBank) expect([loaded.m, loaded.efSearch, loaded.seed]).toEqual([12, 77, 5]);
    // A loaded bank still grows.
    loaded.add([queries[0]!], ['extra.wav']);
    expect(loaded.score(queries[0]!).neighbourId).toBe('extra.wav');
  });

  it('refuses to overwrite without the flag, and overwrites with it', () => {
    const bank = make();
    bank.add(rows.slice(0, 10));
    const dir = tmp();
    bank.save(dir);
    expect(() => bank.save(dir)).toThrow(BankExistsError);
    bank.add(rows.slice(10, 20));
    bank.save(dir, { overwrite: true });
    expect(loadBank(dir).size).toBe(20);
  });

  it('detects corrupt and mismatched files with typed errors', () => {
    const bank = make();
    bank.add(rows);
    const dir = tmp();
    bank.save(dir);
    const manifestPath = join(dir, 'manifest.json');
    const original = readFileSync(manifestPath, 'utf8');
    expect(() => loadBank(dir, { dim: dim + 1 })).toThrow(BankMismatchError);
    expect(() => (kind === 'exact' ? HnswBank.load(dir) : ExactBank.load(dir))).toThrow(BankMismatchError);

    // A hand-edited manifest fails its checksum.
    writeFileSync(manifestPath, original.replace('"count": 200', '"count": 199'));
    expect(() => loadBank(dir)).toThrow(CorruptBankFileError);
    writeFileSync(manifestPath, '{ not json');
    expect(() => loadBank(dir)).toThrow(CorruptBankFileError);
    writeFileSync(manifestPath, original);

    // One flipped byte in each data file.
    for (const name of readdirSync(dir).filter((f) => f !== 'manifest.json')) {
      const file = join(dir, name);
      const data = readFileSync(file);
      const bad = Buffer.from(data);
      bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0x40;
      writeFileSync(file, bad);
      expect(() => loadBank(dir)).toThrow(CorruptBankFileError);
      writeFileSync(file, data.subarray(0, data.length - 4));
      expect(() => loadBank(dir)).toThrow(/bytes, the manifest says/);
      rmSync(file);
      expect(() => loadBank(dir)).toThrow(CorruptBankFileError);
      writeFileSync(file, data);
    }
    expect(loadBank(dir).size).toBe(200);
    expect(() => loadBank(join(dir, 'nowhere'))).toThrow(CorruptBankFileError);
  });

  it('rejects a manifest of another format version', () => {
    const bank = make();
    bank.add(rows.slice(0, 5));
    const dir = tmp();
    bank.save(dir);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const { checksum: _c, ...body } = m;
    body.formatVersion = 2;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...body, checksum: createHash('sha256').update(JSON.stringify(body)).digest('hex') }));
    expect(() => loadBank(dir)).toThrow(/format version 2 is not supported/);
  });

  it('saves and loads an empty bank', () => {
    const dir = tmp();
    make().save(dir);
    const loaded = loadBank(dir);
    expect(loaded.size).toBe(0);
    loaded.add(rows.slice(0, 3));
    expect(loaded.score(rows[2]!).neighbourIndex).toBe(2);
  });
});
