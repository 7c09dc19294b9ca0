import { describe, expect, it } from 'vitest';

import { table1, table3, toCsv, toMarkdown, toText } from './tables.js';

const ours = {
  dev: { fan: 80, pump: 90, slider: 99, ToyCar: 95, ToyConveyor: 70, valve: 97, mean: 88.5 },
  eval: { fan: 90, pump: 90, slider: 99, ToyCar: 95, ToyConveyor: 80, valve: 96, mean: 91.66666666666667 },
  all: 90.08333333333333,
};

describe('result tables', () => {
  it('puts our row and the difference to the paper beside the paper rows', () => {
    const t = table1(ours, ['synthetic data: not comparable with the paper']);
    expect(t.columns).toHaveLength(6 + 1 + 6 + 1 + 1);
    expect(t.rows.map((r) => r.label)).toEqual(['No. 1 [25]', 'Sub-Cluster AdaCos [1]', 'MFN [3]', 'STgram [2]', 'AnoPatch (Ours)', 'AnoPatch-TS (this run)', 'this run - paper AnoPatch']);
    const diff = t.rows.at(-1)!.values;
    expect(diff[0]).toBeCloseTo(80 - 86.46, 10); // dev fan
    expect(diff.at(-1)).toBeCloseTo(90.08333333333333 - 92.58, 10); // all mean
    const md = toMarkdown(t);
    expect(md).toContain('| AnoPatch (Ours) | 86.46 | 93.10 |');
    expect(md).toContain('> synthetic data: not comparable with the paper');
    expect(toCsv(t).split('\n')[0]).toBe('system,dev fan,dev pump,dev slider,dev ToyCar,dev ToyConveyor,dev valve,dev mean,eval fan,eval pump,eval slider,eval ToyCar,eval ToyConveyor,eval valve,eval mean,all mean,note');
    expect(toText(t)).toContain('AnoPatch-TS (this run)');
  });
  it('keeps skipped backbones as rows with the reason', () => {
    const t = table3([
      { backbone: 'beats', paperName: 'BEATs', size: '90M', domain: 'audio', ours: { dev: 88, eval: 92 } },
      { backbone: 'wavlm', paperName: 'WavLM', size: '316M', domain: 'speech', skipped: 'no weights in --weights-dir' },
    ]);
    expect(t.rows[0]!.values).toEqual([89.87, 93.6, 88, 92, 88 - 89.87, 92 - 93.6]);
    expect(t.rows[1]!.values).toEqual([84.78, 86.05, null, null, null, null]);
    expect(t.rows[1]!.note).toBe('skipped: no weights in --weights-dir');
  });
});
