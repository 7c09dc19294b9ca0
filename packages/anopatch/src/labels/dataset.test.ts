import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { scanDataset } from '@anopatch/dcase-eval';
import { generateDataset } from '@anopatch/dcase-synth';
import { afterAll, describe, expect, it } from 'vitest';

import { TrainDataError } from '../errors.js';
import { dcaseTrainingSet } from './dataset.js';

describe('dcaseTrainingSet (metadata classes via dcase-eval, clips from dcase-synth)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('2020: type x machine ID classes over the normal training clips; fbank of the BEATs preset', async () => {
    const root = mkdtempSync(join(tmpdir(), 'anopatch-synth20-'));
    dirs.push(root);
    await generateDataset(root, {
      edition: 2020,
      machineTypes: ['fan', 'valve'],
      splits: ['dev'],
      idsPerType: 2,
      trainPerMachine: 3,
      testNormalPerMachine: 1,
      testAnomalyPerMachine: 1,
      clipSeconds: 1,
    });
    const set = dcaseTrainingSet([scanDataset(root, { edition: 2020, split: 'dev' })]);
    expect(set.classNames).toEqual(['fan/id_00', 'fan/id_02', 'valve/id_00', 'valve/id_02']);
    expect(set.source.numClasses).toBe(4);
    expect(set.source.size).toBe(12);
    expect(set.records.every((r) => r.subset === 'train' && r.label === 'normal')).toBe(true);
    const clip = await set.source.get(5);
    expect(clip.label).toBe(set.classes.labelOf(set.records[5]!));
    expect(set.source.labelOf!(5)).toBe(clip.label);
    // 1 s at 16 kHz -> 98 Kaldi frames of 128 mel bins, BEATs-normalised (roughly zero-centred)
    expect([clip.fbank!.frames, clip.fbank!.bins]).toEqual([98, 128]);
    expect(Math.abs(clip.fbank!.data.reduce((a, b) => a + b, 0) / clip.fbank!.data.length)).toBeLessThan(2);
    expect(await set.source.get(5)).toBe(clip); // cached
    const uncached = dcaseTrainingSet([scanDataset(root, { edition: 2020, split: 'dev' })], { cacheMaxBytes: 0 });
    const again = await uncached.source.get(5);
    expect(await uncached.source.get(5)).not.toBe(again);
    expect(Array.from((await uncached.source.get(5)).fbank!.data)).toEqual(Array.from(clip.fbank!.data));
  });

  it('2023: type x section x attribute-string classes (source and target with the same attributes share one)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'anopatch-synth23-'));
    dirs.push(root);
    await generateDataset(root, {
      edition: 2023,
      machineTypes: ['ToyCar', 'fan'],
      splits: ['dev'],
      trainPerMachine: 2,
      targetTrainPerSection: 1,
      testNormalPerMachine: 1,
      testAnomalyPerMachine: 1,
      clipSeconds: 1,
    });
    const scan = scanDataset(root, { edition: 2023, split: 'dev' });
    const set = dcaseTrainingSet([scan]);
    const expected = new Set(scan.records.filter((r) => r.subset === 'train').map((r) => `${r.type}/section_${r.section}/${r.attributes}`));
    expect(new Set(set.classNames)).toEqual(expected);
    expect(set.source.size).toBe(scan.records.filter((r) => r.subset === 'train').length);
  });

  it('rejects an empty list of scans', () => {
    expect(() => dcaseTrainingSet([])).toThrow(TrainDataError);
  });
});
