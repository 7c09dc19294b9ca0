import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { writeFileAtomic, writeJsonAtomic } from './atomic.js';

describe('writeFileAtomic', () => {
  it('writes text, bytes and streamed chunks, creating the parent directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    writeFileAtomic(join(dir, 'a', 'b.txt'), 'héllo');
    expect(readFileSync(join(dir, 'a', 'b.txt'), 'utf8')).toBe('héllo');
    writeFileAtomic(join(dir, 'c.bin'), Uint8Array.from([1, 2, 3]));
    expect([...readFileSync(join(dir, 'c.bin'))]).toEqual([1, 2, 3]);
    writeFileAtomic(join(dir, 'd.bin'), (write) => {
      write(Uint8Array.from([4]));
      write(Uint8Array.from([5, 6]));
    });
    expect([...readFileSync(join(dir, 'd.bin'))]).toEqual([4, 5, 6]);
    writeJsonAtomic(join(dir, 'e.json'), { x: 1 });
    expect(readFileSync(join(dir, 'e.json'), 'utf8')).toBe('{\n  "x": 1\n}\n');
  });

  it('leaves the previous file and no temporary behind when the producer fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'model.bin');
    writeFileSync(path, 'old');
    expect(() =>
      writeFileAtomic(path, (write) => {
        write(Uint8Array.from([1, 2]));
        throw new Error('tensor 3 is broken');
      }),
    ).toThrow('tensor 3 is broken');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['model.bin']);
    expect(existsSync(join(dir, 'model.bin'))).toBe(true);
  });
});
