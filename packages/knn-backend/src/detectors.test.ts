import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  BankExistsError,
  CorruptBankFileError,
  DomainMinDetector,
  EmptyBankError,
  ExactBank,
  GroupedDetector,
  GroupedDomainMinDetector,
  HnswBank,
  InvalidKnnParameterError,
  UnknownGroupError,
  ZeroVectorError,
  groupKey,
} from './index.js';
import { gaussianRows } from './__tests__/random.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'knn-det-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const dim = 8;

describe('GroupedDetector', () => {
  it('scores each clip against its own group only', () => {
    const det = new GroupedDetector({ factory: (g) => new ExactBank({ dim, name: g }) });
    const fan = gaussianRows(30, dim, 1);
    const pump = gaussianRows(30, dim, 2);
    det.add(groupKey('fan', 'id_00'), fan, fan.map((_, i) => `fan_${i}`));
    det.add(groupKey('pump', 'id_00'), pump);
    expect(det.groups()).toEqual(['fan/id_00', 'pump/id_00']);
    // Row 3 of the fan bank is at distance 0 in its own group, not in the pump group.
    const own = det.score('fan/id_00', fan[3]!);
    expect(own.neighbourId).toBe('fan_3');
    expect(own.score).toBeLessThan(1e-7);
    expect(det.score('pump/id_00', fan[3]!).score).toBeGreaterThan(0.01);
    const batch = det.scoreBatch('pump/id_00', Float32Array.from(pump.slice(0, 5).flat()));
    expect(batch.map((b) => b.neighbourIndex)).toEqual([0, 1, 2, 3, 4]);
  });

  it('throws UnknownGroupError naming the group and the known ones', () => {
    const det = new GroupedDetector({ factory: () => new ExactBank({ dim }) });
    det.add('fan/id_00', gaussianRows(3, dim, 3));
    expect(() => det.score('fan/id_02', gaussianRows(1, dim, 4)[0]!)).toThrow(UnknownGroupError);
    expect(() => det.score('fan/id_02', gaussianRows(1, dim, 4)[0]!)).toThrow(/'fan\/id_02'.*fan\/id_00/);
  });

  it('does not register a group whose first add was rejected', () => {
    const det = new GroupedDetector({ factory: () => new ExactBank({ dim }) });
    expect(() => det.add('valve/id_00', [new Array<number>(dim).fill(0)])).toThrow(ZeroVectorError);
    expect(det.has('valve/id_00')).toBe(false);
  });

  it('round-trips through save / load, keys with slashes included, and refuses mixed saves', () => {
    const det = new GroupedDetector({ factory: (g) => (g.startsWith('fan') ? new ExactBank({ dim }) : new HnswBank({ dim, m: 8 })) });
    const a = gaussianRows(40, dim, 5);
    const b = gaussianRows(40, dim, 6);
    det.add('fan/section_00', a);
    det.add('gearbox/section_01', b);
    const dir = tmp();
    det.save(dir);
    expect(() => det.save(dir)).toThrow(BankExistsError);
    const loaded = GroupedDetector.load(dir, { dim });
    expect(loaded.groups()).toEqual(det.groups());
    expect(loaded.bank('fan/section_00').kind).toBe('exact');
    expect(loaded.bank('gearbox/section_01').kind).toBe('hnsw');
    const q = gaussianRows(6, dim, 7);
    for (const g of det.groups()) {
      expect(loaded.scoreBatch(g, q).map((s) => s.score)).toEqual(det.scoreBatch(g, q).map((s) => s.score));
    }
    // A loaded detector without a factory cannot invent banks.
    expect(() => loaded.add('new/group', q)).toThrow(InvalidKnnParameterError);

    // Replace one group's bank by a bank from another save: its manifest no longer matches.
    const other = new ExactBank({ dim });
    other.add(q);
    other.save(join(dir, 'g00000'), { overwrite: true });
    expect(() => GroupedDetector.load(dir)).toThrow(CorruptBankFileError);
  });
});

describe('DomainMinDetector', () => {
  it('scores min(source, target) and says which bank won', () => {
    const det = new DomainMinDetector({ factory: () => new ExactBank({ dim: 2 }) });
    det.add('source', [
      [1, 0],
      [0, 1],
    ]);
    det.add('target', [[-1, -1]]);
    const nearSource = det.score([1, 0.1]);
    expect(nearSource.domain).toBe('source');
    expect(nearSource.score).toBe(nearSource.source.score);
    const nearTarget = det.score([-1, -0.9]);
    expect(nearTarget.domain).toBe('target');
    expect(nearTarget.score).toBe(nearTarget.target.score);
    expect(nearTarget.score).toBeLessThan(nearTarget.source.score);
  });

  it('needs both banks to score and validates domains', () => {
    const det = new DomainMinDetector({ factory: (d) => new ExactBank({ dim: 2, name: `fan ${d}` }) });
    det.add('source', [[1, 0]]);
    expect(() => det.score([1, 0])).toThrow(EmptyBankError);
    expect(() => det.score([1, 0])).toThrow(/fan target/);
    expect(() => det.add('other' as 'source', [[1, 0]])).toThrow(InvalidKnnParameterError);
    expect(() => new DomainMinDetector({ factory: (d) => new ExactBank({ dim: d === 'source' ? 2 : 3 }) })).toThrow(InvalidKnnParameterError);
  });
});

describe('GroupedDomainMinDetector', () => {
  it('keeps source and target banks per machine type, and round-trips', () => {
    const det = new GroupedDomainMinDetector({ factory: (g, d) => new ExactBank({ dim, name: `${g} ${d}` }) });
    const types = ['fan', 'valve'];
    const data = new Map<string, number[][]>();
    types.forEach((t, i) => {
      const src = gaussianRows(30, dim, 100 + i);
      const tgt = gaussianRows(3, dim, 200 + i);
      data.set(`${t}/source`, src);
      data.set(`${t}/target`, tgt);
      det.add(t, 'source', src);
      det.add(t, 'target', tgt);
    });
    const s = det.score('valve', data.get('valve/target')![1]!);
    expect(s.domain).toBe('target');
    expect(s.target.neighbourIndex).toBe(1);
    expect(() => det.score('slider', data.get('fan/source')![0]!)).toThrow(UnknownGroupError);

    const dir = tmp();
    det.save(dir);
    const loaded = GroupedDomainMinDetector.load(dir);
    expect(loaded.groups()).toEqual(types);
    const q = gaussianRows(5, dim, 9);
    expect(loaded.scoreBatch('fan', q)).toEqual(det.scoreBatch('fan', q));

    const top = join(dir, 'detector.json');
    writeFileSync(top, readFileSync(top, 'utf8').replace('"fan"', '"pump"'));
    expect(() => GroupedDomainMinDetector.load(dir)).toThrow(CorruptBankFileError);
  });
});
