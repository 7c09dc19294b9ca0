import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ANOPATCH, DCASE2020_TYPES, PAPER_HYPERPARAMETERS, paperTable1, paperTable2, paperTable3 } from './index.js';

describe('paper tables', () => {
  it('carries the numbers DESIGN.md quotes', () => {
    const ours1 = paperTable1().find((r) => r.system === ANOPATCH)!;
    expect([ours1.dev.mean, ours1.eval.mean, ours1.all]).toEqual([90.93, 94.28, 92.58]);
    const ours2 = paperTable2().find((r) => r.system === ANOPATCH)!;
    expect([ours2.dev.hmean, ours2.eval.hmean, ours2.all]).toEqual([64.24, 74.23, 68.87]);
    const beats = paperTable3().find((r) => r.backbone === 'BEATs')!;
    expect([beats.dev.mean, beats.eval.mean, beats.size, beats.domain]).toEqual([89.87, 93.6, '90M', 'audio']);
    expect(paperTable3()).toHaveLength(8);
    expect(PAPER_HYPERPARAMETERS.warmup_steps).toBe(960);
  });
  it('per-type means agree with the published means (the copy is intact)', () => {
    const ours1 = paperTable1().find((r) => r.system === ANOPATCH)!;
    const devMean = DCASE2020_TYPES.reduce((s, t) => s + ours1.dev[t]!, 0) / DCASE2020_TYPES.length;
    expect(Math.abs(devMean - ours1.dev.mean!)).toBeLessThan(0.01);
  });
  it('is the same data as shared/paper-tables.json', () => {
    const shared = new URL('../../../../../shared/paper-tables.json', import.meta.url);
    const local = new URL('./paper-tables.json', import.meta.url);
    expect(JSON.parse(readFileSync(local, 'utf8'))).toEqual(JSON.parse(readFileSync(shared, 'utf8')));
  });
});
