import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { buildClassTable } from './classes.js';
import { DatasetLayoutError, GroundTruthError, MetricInputError } from './errors.js';
import { formatName2020, formatName2023, parseAttributePairs, parseName2020, parseName2023 } from './grammar.js';
import { groundTruthFromScan } from './groundtruth.js';
import { DCASE2020_IDS, DCASE2020_MACHINE_TYPES } from './machines.js';
import { scanDataset } from './scan.js';

const tmps: string[] = [];
afterAll(() => tmps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tree(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'dcase-scan-'));
  tmps.push(root);
  for (const f of files) {
    mkdirSync(f.endsWith('/') ? join(root, f) : join(root, f, '..'), { recursive: true });
    if (!f.endsWith('/')) writeFileSync(join(root, f), f.endsWith('.csv') ? '' : 'RIFF');
  }
  return root;
}

describe('file-name grammar', () => {
  it('2020 labelled and unlabelled names', () => {
    expect(parseName2020('normal_id_00_00000012.wav')).toEqual({ edition: 2020, label: 'normal', id: '00', index: '00000012' });
    expect(parseName2020('anomaly_id_06_00000000.wav')!.label).toBe('anomaly');
    expect(parseName2020('id_05_00000000.wav')).toEqual({ edition: 2020, label: undefined, id: '05', index: '00000000' });
    expect(parseName2020('normal_id_0_00000000.wav')).toBeNull();
    expect(parseName2020('normal_id_00_00000000.flac')).toBeNull();
    expect(formatName2020({ id: '02', index: 7, label: 'anomaly' })).toBe('anomaly_id_02_00000007.wav');
    expect(formatName2020({ id: '05', index: 0 })).toBe('id_05_00000000.wav');
  });
  it('2023 labelled and unlabelled names, attributes', () => {
    const n = parseName2023('section_00_target_test_anomaly_0012_car_C1_spd_1_mic_2.wav')!;
    expect(n).toEqual({
      edition: 2023,
      section: '00',
      domain: 'target',
      subset: 'test',
      label: 'anomaly',
      index: '0012',
      attributes: 'car_C1_spd_1_mic_2',
    });
    expect(parseAttributePairs(n.attributes!)).toEqual([
      ['car', 'C1'],
      ['spd', '1'],
      ['mic', '2'],
    ]);
    expect(parseAttributePairs('pat_00_panel_b-c_v1')).toBeNull();
    expect(parseName2023('section_00_0001.wav')!.label).toBeUndefined();
    expect(parseName2023('section_00_source_train_normal_0001.wav')!.attributes).toBe('');
    expect(parseName2023('section_00_source_valid_normal_0001_a_1.wav')).toBeNull();
    const parts = { section: '00', index: 3, domain: 'source', subset: 'train', label: 'normal', attributes: 'vel_12' } as const;
    expect(parseName2023(formatName2023(parts))).toMatchObject({ ...parts, index: '0003' });
    expect(formatName2023({ section: '00', index: 1 })).toBe('section_00_0001.wav');
  });
});

describe('scanDataset, DCASE 2020', () => {
  const root = tree([
    'dev_data/fan/train/normal_id_00_00000000.wav',
    'dev_data/fan/train/normal_id_02_00000000.wav',
    'dev_data/fan/test/normal_id_00_00000001.wav',
    'dev_data/fan/test/anomaly_id_00_00000000.wav',
    'dev_data/fan/test/readme.txt',
    'dev_data/fan/test/fan_strange.wav',
    'dev_data/ToyCar/train/normal_id_01_00000000.wav',
    'dev_data/ToyCar/test/anomaly_id_01_00000000.wav',
    'dev_data/ToyCar/test/normal_id_01_00000000.wav',
    'dev_data/notes/',
    'eval_data/fan/train/normal_id_01_00000000.wav',
    'eval_data/fan/test/id_01_00000000.wav',
  ]);
  it('records, summary and reported unknowns', () => {
    const s = scanDataset(root, { edition: 2020, split: 'dev' });
    expect(s.root).toBe(join(root, 'dev_data'));
    expect(s.records.map((r) => `${r.type}/${r.subset}/${r.file}`)).toEqual([
      'fan/train/normal_id_00_00000000.wav',
      'fan/train/normal_id_02_00000000.wav',
      'fan/test/anomaly_id_00_00000000.wav',
      'fan/test/normal_id_00_00000001.wav',
      'ToyCar/train/normal_id_01_00000000.wav',
      'ToyCar/test/anomaly_id_01_00000000.wav',
      'ToyCar/test/normal_id_01_00000000.wav',
    ]);
    const r = s.records[2]!;
    expect(r).toMatchObject({ edition: 2020, split: 'dev', type: 'fan', subset: 'test', id: '00', section: null, domain: null, label: 'anomaly' });
    expect(s.unknown.map((u) => u.path.slice(root.length + 1)).sort()).toEqual(['dev_data/fan/test/fan_strange.wav', 'dev_data/fan/test/readme.txt', 'dev_data/notes']);
    expect(s.summary.types.find((t) => t.type === 'fan')).toMatchObject({ train: 2, test: 2, normal: 3, anomaly: 1, groups: ['00', '02'] });
    expect(s.summary.total).toBe(7);
  });
  it('eval test names are unlabelled and need the official ground truth', () => {
    const s = scanDataset(root, { edition: 2020, split: 'eval' });
    expect(s.records.find((x) => x.subset === 'test')!.label).toBe('unknown');
    expect(() => groundTruthFromScan(s)).toThrow(GroundTruthError);
  });
  it('ground truth from labelled test names', () => {
    const gt = groundTruthFromScan(scanDataset(root, { edition: 2020, split: 'dev' }));
    expect(gt.units.map((u) => `${u.type}/${u.group}:${u.clips.map((c) => c.label).join('')}`)).toEqual(['fan/00:10', 'ToyCar/01:10']);
  });
  it('missing folders are named', () => {
    expect(() => scanDataset(root, { edition: 2020, split: 'dev', types: ['pump'] })).toThrow(/expected machine-type folder\(s\) pump\//);
    const bad = tree(['fan/train/normal_id_00_00000000.wav']);
    expect(() => scanDataset(bad, { edition: 2020, split: 'dev' })).toThrow(DatasetLayoutError);
    expect(() => scanDataset(bad, { edition: 2020, split: 'dev' })).toThrow(/fan[/\\]test: missing folder/);
    expect(() => scanDataset(join(bad, 'nope'), { edition: 2020, split: 'dev' })).toThrow(/does not exist/);
    const empty = tree(['other/']);
    expect(() => scanDataset(empty, { edition: 2020, split: 'dev' })).toThrow(/fan\/, pump\//);
  });
  it('41 type x ID classes over the full dev + eval ID lists', () => {
    const root41 = tree(
      DCASE2020_MACHINE_TYPES.flatMap((t) =>
        [...DCASE2020_IDS[t].dev.map((id) => `dev_data/${t}/train/normal_id_${id}_00000000.wav`), ...DCASE2020_IDS[t].eval.map((id) => `eval_data/${t}/train/normal_id_${id}_00000000.wav`), `dev_data/${t}/test/`, `eval_data/${t}/test/`],
      ),
    );
    const recs = [...scanDataset(root41, { edition: 2020, split: 'dev' }).records, ...scanDataset(root41, { edition: 2020, split: 'eval' }).records];
    const table = buildClassTable(recs, 2020);
    expect(table.classes).toHaveLength(41);
    expect(table.classes[0]).toMatchObject({ key: 'fan/id_00', type: 'fan', value: '00' });
    expect(table.classes[40]).toMatchObject({ key: 'valve/id_06' });
    expect(table.labelOf(recs.find((r) => r.type === 'pump' && r.id === '03')!)).toBe(table.classes.findIndex((c) => c.key === 'pump/id_03'));
  });
});

describe('scanDataset, DCASE 2023', () => {
  const root = tree([
    'bearing/train/section_00_source_train_normal_0000_vel_6_loc_A.wav',
    'bearing/train/section_00_target_train_normal_0000_vel_8_loc_B.wav',
    'bearing/train/section_00_source_train_normal_0001_vel_6_loc_A.wav',
    'bearing/test/section_00_source_test_normal_0000_vel_6_loc_A.wav',
    'bearing/test/section_00_target_test_anomaly_0000_vel_8_loc_B.wav',
    'bearing/test/section_00_target_train_normal_0009_vel_8_loc_B.wav',
    'bearing/attributes_00.csv',
    'fan/train/section_00_source_train_normal_0000_m-n_W.wav',
    'fan/test/section_00_source_test_anomaly_0000_m-n_W.wav',
  ]);
  it('records with domain, attributes and labels; misplaced names reported', () => {
    const s = scanDataset(root, { edition: 2023, split: 'dev' });
    expect(s.records).toHaveLength(7);
    const r = s.records.find((x) => x.file.startsWith('section_00_target_test'))!;
    expect(r).toMatchObject({ type: 'bearing', section: '00', id: null, domain: 'target', label: 'anomaly', attributes: 'vel_8_loc_B' });
    expect(r.attributePairs).toEqual([
      ['vel', '8'],
      ['loc', 'B'],
    ]);
    expect(s.unknown).toHaveLength(1);
    expect(s.unknown[0]!.reason).toBe('name says train but the clip is in test/');
    expect(s.summary.types.map((t) => t.type)).toEqual(['bearing', 'fan']);
    expect(s.summary.types[0]).toMatchObject({ source: 3, target: 2 });
  });
  it('the baseline tree <split>_data/raw and attributes_00.csv for names without attributes', () => {
    const r = tree(['eval_data/raw/ToyTank/train/section_00_source_train_normal_0000.wav', 'eval_data/raw/ToyTank/test/section_00_0000.wav', 'eval_data/raw/ToyTank/attributes_00.csv']);
    writeFileSync(
      join(r, 'eval_data/raw/ToyTank/attributes_00.csv'),
      'file_name,d1p,d1v,d2p,d2v\nToyTank/train/section_00_source_train_normal_0000.wav,car,B1,spd,31V\nToyTank/test/section_00_0000.wav,,,,\n',
    );
    const s = scanDataset(r, { edition: 2023, split: 'eval' });
    expect(s.root).toBe(join(r, 'eval_data', 'raw'));
    expect(s.records.map((x) => [x.subset, x.attributes])).toEqual([
      ['train', 'car_B1_spd_31V'],
      ['test', null],
    ]);
    expect(() => scanDataset(r, { edition: 2023, split: 'dev' })).toThrow(/directly or under dev_data\//);
  });
  it('type x attribute classes; unlabelled eval names have no class', () => {
    const s = scanDataset(root, { edition: 2023, split: 'dev' });
    const table = buildClassTable(
      s.records.filter((x) => x.subset === 'train'),
      2023,
    );
    expect(table.classes.map((c) => c.key)).toEqual(['bearing/section_00/vel_6_loc_A', 'bearing/section_00/vel_8_loc_B', 'fan/section_00/m-n_W']);
    const ev = tree(['ToyDrone/train/section_00_source_train_normal_0000_car_A_spd_1.wav', 'ToyDrone/test/section_00_0000.wav']);
    const es = scanDataset(ev, { edition: 2023, split: 'eval' });
    const test = es.records.find((x) => x.subset === 'test')!;
    expect(test).toMatchObject({ label: 'unknown', domain: 'unknown', attributes: null });
    expect(() => buildClassTable(es.records, 2023)).toThrow(MetricInputError);
    expect(() => scanDataset(ev, { edition: 2023, split: 'dev' })).toThrow(/bearing\//);
  });
});
