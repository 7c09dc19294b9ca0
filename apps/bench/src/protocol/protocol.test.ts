import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { findWeights, table3Candidates } from './backbones.js';
import { paperTrainOverrides, syntheticDataset, syntheticTrainConfig } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'anopatch-bench-w-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench protocol settings', () => {
  it('uses Table 4 for real runs and keeps the warmup fraction when the step count is lowered', () => {
    expect(paperTrainOverrides(2020, true)).toMatchObject({ lr: 1e-4, totalSteps: 10000, warmupSteps: 960, batchSize: 32, gradAccum: 8, specAugment: { freqMaskParam: 40, timeMaskParam: 80 } });
    expect(paperTrainOverrides(2023, true).specAugment).toMatchObject({ freqMaskParam: 80, timeMaskParam: 80 });
    expect(paperTrainOverrides(2020, false).specAugment).toBeNull();
    expect(paperTrainOverrides(2020, true, { steps: 1000 }).warmupSteps).toBe(96);
  });
  it('keeps synthetic runs small: 2 IDs / sections, 1 s clips, a handful of steps', () => {
    expect(syntheticDataset(2020, 'tiny')).toMatchObject({ edition: 2020, idsPerType: 2, clipSeconds: 1, machineTypes: ['fan', 'valve'] });
    expect(syntheticDataset(2023, 'tiny')).toMatchObject({ edition: 2023, evalMachineTypes: ['bandsaw', 'shaker'] });
    expect(syntheticTrainConfig(2023, 'tiny', true)).toMatchObject({ totalSteps: 4, specAugment: { freqMaskParam: 80 } });
    expect(syntheticTrainConfig(2020, 'tiny', false).specAugment).toBeNull();
  });
  it('finds weights as <id>/ folders or <id>*.pt files, case-insensitively', () => {
    writeFileSync(join(dir, 'BEATs_iter3.pt'), 'x');
    mkdirSync(join(dir, 'ast'));
    writeFileSync(join(dir, 'hubert-large.bin'), 'x');
    writeFileSync(join(dir, 'wavlmx.pt'), 'x');
    expect(findWeights(dir, 'beats')).toBe(join(dir, 'BEATs_iter3.pt'));
    expect(findWeights(dir, 'ast')).toBe(join(dir, 'ast'));
    expect(findWeights(dir, 'hubert')).toBe(join(dir, 'hubert-large.bin'));
    expect(findWeights(dir, 'wavlm')).toBeUndefined();
  });
  it("lists the paper's eight backbones and every registered one, skipped ones with a reason", async () => {
    const real = await table3Candidates({ synthetic: false, weightsDir: dir });
    const ids = real.map((c) => c.id);
    for (const id of ['wav2vec2', 'hubert', 'unispeech', 'wavlm', 'ast', 'imagebind', 'atst', 'beats']) expect(ids).toContain(id);
    expect(real.find((c) => c.id === 'beats')).toEqual({ id: 'beats', paperName: 'BEATs', weights: join(dir, 'BEATs_iter3.pt') });
    expect(real.find((c) => c.id === 'hubert')).toEqual({ id: 'hubert', paperName: 'HuBERT', weights: join(dir, 'hubert-large.bin') });
    expect(real.find((c) => c.id === 'imagebind')!.skipped).toMatch(/^no weights in /);
    for (const c of real) if (!c.weights) expect(c.skipped).toBeTruthy();
  });
});
