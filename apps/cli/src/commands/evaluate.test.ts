import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { auc, formatName2023, hmeanFloored, pauc, writeResultFiles2023 } from '@anopatch/dcase-eval';
import { describe, expect, it } from 'vitest';

import { captureOutput, tempDir } from '../__tests__/support.js';
import { EXIT } from '../errors.js';
import { main } from '../program.js';

const dir = tempDir('anopatch-evaluate-');
const REF = new URL('../../../../tooling/reference/dcase-eval/', import.meta.url).pathname;

const io = captureOutput();

// a tiny DCASE 2023 dev layout (labelled test names) and a score folder for it
const data = join(dir, 'data');
const scores = join(dir, 'scores');
const clips: { file: string; label: number; domain: 'source' | 'target'; score: number }[] = [];
for (let i = 0; i < 12; i++) {
  const domain = i % 2 ? 'target' : 'source';
  const label = i % 3 === 0 ? 1 : 0;
  const file = formatName2023({ section: '00', index: i, domain, subset: 'test', label: label ? 'anomaly' : 'normal', attributes: 'vel_6_loc_A' });
  clips.push({ file, label, domain, score: ((i * 7) % 12) / 12 + 0.3 * label });
}
mkdirSync(join(data, 'bearing', 'train'), { recursive: true });
mkdirSync(join(data, 'bearing', 'test'), { recursive: true });
writeFileSync(join(data, 'bearing', 'train', formatName2023({ section: '00', index: 0, domain: 'source', subset: 'train', label: 'normal', attributes: 'vel_6_loc_A' })), '');
for (const c of clips) writeFileSync(join(data, 'bearing', 'test', c.file), '');
writeResultFiles2023(scores, 'bearing', '00', clips, 0.5);

describe('anopatch evaluate', () => {
  it('--data: prints the per-machine table and the official score', async () => {
    expect(await main(['evaluate', '--edition', '2023', '--scores', scores, '--data', data])).toBe(EXIT.ok);
    const out = io.stdout.join('');
    const sel = (d: 'source' | 'target'): typeof clips => clips.filter((c) => c.domain === d || c.label === 1);
    const aucS = auc(sel('source').map((c) => c.label), sel('source').map((c) => c.score));
    const aucT = auc(sel('target').map((c) => c.label), sel('target').map((c) => c.score));
    const p = pauc(clips.map((c) => c.label), clips.map((c) => c.score));
    expect(out).toContain('bearing');
    expect(out).toContain(aucS.toFixed(4));
    expect(out).toContain(`official score (hmean of AUC source, AUC target, pAUC): ${hmeanFloored([aucS, aucT, p]).toFixed(6)}`);
    expect(out).toContain('dev bearing');
  });

  it('--json prints one object; --out writes the result table', async () => {
    const base = join(dir, 'result');
    expect(await main(['evaluate', '--edition', '2023', '--scores', scores, '--data', data, '--json', '--out', base])).toBe(EXIT.ok);
    const obj = JSON.parse(io.stdout.join('')) as { edition: number; overall: { officialScore: number }; units: unknown[]; resultFiles: string[] };
    expect(obj.edition).toBe(2023);
    expect(obj.units).toHaveLength(1);
    expect(obj.resultFiles).toEqual([`${base}.json`, `${base}.csv`, `${base}.md`]);
    expect(readFileSync(`${base}.md`, 'utf8')).toContain('dev hmean');
    // a second run without --force refuses to overwrite
    expect(await main(['evaluate', '--edition', '2023', '--scores', scores, '--data', data, '--out', base])).toBe(EXIT.failure);
    expect(io.stderr.join('')).toMatch(/^anopatch: OutputExistsError: .*result\.json: already exists/);
  });

  it('--ground-truth with the official 2023 layout gives the official evaluator\'s score', async () => {
    const expected = JSON.parse(readFileSync(join(REF, 'official_expected.json'), 'utf8')) as {
      dcase2023: Record<string, { overall: { 'official score': number } }>;
    };
    const args = ['evaluate', '--edition', '2023', '--scores', join(REF, 'official2023/teams/team/baseline_names'), '--ground-truth', join(REF, 'official2023'), '--json'];
    expect(await main(args)).toBe(EXIT.ok);
    const obj = JSON.parse(io.stdout.join('')) as { overall: { officialScore: number } };
    // the evaluator prints str(float): compare to 1e-9
    expect(Math.abs(obj.overall.officialScore - expected.dcase2023.baseline_names!.overall['official score'])).toBeLessThanOrEqual(1e-9);
  });

  it('2020: --ground-truth eval_data_list.csv prints per-ID AUC / pAUC like dcase2020_task2_evaluator', async () => {
    const expected = JSON.parse(readFileSync(join(REF, 'official_expected.json'), 'utf8')) as {
      dcase2020: { system2020: Record<string, { ids: Record<string, { auc: number; pauc: number }> }> };
    };
    const args = ['evaluate', '--edition', '2020', '--scores', join(REF, 'official2020/teams/system2020'), '--ground-truth', join(REF, 'official2020/eval_data_list.csv')];
    expect(await main(args)).toBe(EXIT.ok);
    const out = io.stdout.join('');
    const fan01 = expected.dcase2020.system2020.fan!.ids['01']!;
    expect(out).toMatch(new RegExp(`fan\\s+01\\s+${fan01.auc.toFixed(4)}\\s+${fan01.pauc.toFixed(4)}`));
    expect(out).toContain('eval mean');
  });

  it('a score file with a missing clip is one error line naming the file and the clip', async () => {
    const bad = join(dir, 'bad-scores');
    writeResultFiles2023(bad, 'bearing', '00', clips.slice(1), 0.5);
    expect(await main(['evaluate', '--edition', '2023', '--scores', bad, '--data', data])).toBe(EXIT.failure);
    const err = io.stderr.join('');
    expect(err.split('\n').filter(Boolean)).toHaveLength(1);
    expect(err).toContain('ScoreMismatchError');
    expect(err).toContain(clips[0]!.file);
  });

  it('usage errors: neither or both of --data / --ground-truth, bad edition', async () => {
    expect(await main(['evaluate', '--edition', '2023', '--scores', scores])).toBe(EXIT.usage);
    expect(await main(['evaluate', '--edition', '2023', '--scores', scores, '--data', data, '--ground-truth', dir])).toBe(EXIT.usage);
    expect(await main(['evaluate', '--edition', '2021', '--scores', scores, '--data', data])).toBe(EXIT.usage);
  });
});
