import { describe, expect, it } from 'vitest';

import { buildProgram, main } from './program.js';

describe('anopatch-bench program', () => {
  it('is named anopatch-bench and has the table and speed commands', () => {
    const p = buildProgram();
    expect(p.name()).toBe('anopatch-bench');
    expect(p.commands.map((c) => c.name())).toEqual(['table1', 'table2', 'table3', 'speed']);
  });
  it('answers a usage error with exit code 2 and a one-line message naming the problem', async () => {
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (writes.push(s), true));
    try {
      expect(await main(['table1', '--out', '/nonexistent-dir/x'])).toBe(2);
    } finally {
      process.stderr.write = orig;
    }
    expect(writes.join('')).toContain('table1: give --data <DCASE 2020 root> (or --synthetic)');
  });
});
