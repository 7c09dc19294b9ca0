import { Rng } from '@anopatch/audio-features';

import { SynthOptionsError } from './errors.js';
import { hashSeed } from './dsp.js';
import { ANOMALY_KINDS, familyOf, type Anomaly, type Condition, type SoundFamily } from './models.js';

export type Edition = 2020 | 2023;
export type Split = 'dev' | 'eval';
export type Domain = 'source' | 'target';

export const DCASE2020_TYPES: readonly string[] = ['fan', 'pump', 'slider', 'valve', 'ToyCar', 'ToyConveyor'];
export const DCASE2023_DEV_TYPES: readonly string[] = ['ToyCar', 'ToyTrain', 'bearing', 'fan', 'gearbox', 'slider', 'valve'];
export const DCASE2023_EVAL_TYPES: readonly string[] = ['ToyDrone', 'ToyNscale', 'ToyTank', 'Vacuum', 'bandsaw', 'grinder', 'shaker'];

/** DCASE 2020 machine IDs as published (dev / eval); a type not listed gets even dev and odd eval IDs. */
const IDS_2020: Record<string, { dev: number[]; eval: number[] }> = {
  fan: { dev: [0, 2, 4, 6], eval: [1, 3, 5] },
  pump: { dev: [0, 2, 4, 6], eval: [1, 3, 5] },
  slider: { dev: [0, 2, 4, 6], eval: [1, 3, 5] },
  valve: { dev: [0, 2, 4, 6], eval: [1, 3, 5] },
  ToyCar: { dev: [1, 2, 3, 4], eval: [5, 6, 7] },
  ToyConveyor: { dev: [1, 2, 3], eval: [4, 5, 6] },
};

export interface SynthOptions {
  edition: Edition;
  /** Everything is a function of this seed and the file name (default 0). */
  seed?: number;
  /** Machine types of the dev split (default: the edition's). */
  machineTypes?: string[];
  /** Machine types of the eval split (default: 2020 the dev types, 2023 the 2023 eval types). */
  evalMachineTypes?: string[];
  /** Which splits to write (default both). */
  splits?: Split[];
  /** 2020: machine IDs per type and split (default: as published, up to 4 dev / 3 eval). */
  idsPerType?: number;
  /** Normal training clips per machine ID (2020) or per section in the source domain (2023). */
  trainPerMachine: number;
  /** 2023: target-domain training clips per section (DCASE 2023 has 10 beside 990 source). */
  targetTrainPerSection?: number;
  /** Normal test clips per machine ID (2020) or per section and domain (2023). */
  testNormalPerMachine: number;
  testAnomalyPerMachine: number;
  /** Clip length in seconds (DCASE clips are 10 s). */
  clipSeconds: number;
  sampleRate?: number;
  /** 2023: attribute combinations in the source domain (default 2) and the target domain (default 1). */
  sourceAttributes?: number;
  targetAttributes?: number;
}

/** Named sizes, from a CI-sized set to a few thousand clips. */
export const SYNTH_PRESETS = {
  tiny: { trainPerMachine: 6, targetTrainPerSection: 2, testNormalPerMachine: 4, testAnomalyPerMachine: 4, clipSeconds: 1, idsPerType: 2 },
  demo: { trainPerMachine: 20, targetTrainPerSection: 3, testNormalPerMachine: 10, testAnomalyPerMachine: 10, clipSeconds: 2, idsPerType: 2 },
  small: { trainPerMachine: 60, targetTrainPerSection: 5, testNormalPerMachine: 20, testAnomalyPerMachine: 20, clipSeconds: 4, idsPerType: 3 },
  large: { trainPerMachine: 200, targetTrainPerSection: 10, testNormalPerMachine: 50, testAnomalyPerMachine: 50, clipSeconds: 10, idsPerType: 4 },
} as const satisfies Record<string, Partial<SynthOptions>>;

export type SynthPreset = keyof typeof SYNTH_PRESETS;

/** One clip of the plan: where it goes, what it is, and everything needed to render it again. */
export interface ClipSpec {
  /** Relative to the dataset root, '/'-separated. */
  path: string;
  split: Split;
  set: 'train' | 'test';
  machineType: string;
  family: SoundFamily;
  /** 2020: 'id_00'; 2023: 'section_00'. */
  machine: string;
  domain: Domain;
  /** 2023 attributes (name -> value, in file-name order); empty in 2020. */
  attributes: [string, string][];
  label: 'normal' | 'anomaly';
  anomaly?: Anomaly;
  condition: Condition;
  /** The name the file would have with its label (eval test files are written under an unlabelled name). */
  labelledName: string;
  seed: number;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

function positive(name: string, v: number | undefined, allowZero = false): number {
  if (v === undefined || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new SynthOptionsError(`${name} must be ${allowZero ? 'a non-negative' : 'a positive'} integer, got ${String(v)}`);
  }
  return v;
}

function ids2020(type: string, split: Split, count: number): number[] {
  const known = IDS_2020[type];
  const list = known ? known[split] : Array.from({ length: 4 }, (_, i) => 2 * i + (split === 'dev' ? 0 : 1));
  return list.slice(0, Math.max(1, Math.min(count, list.length)));
}

/** Per-clip operating point: the domain's condition with small clip-to-clip drift, as real machines have. */
function drift(base: Condition, rng: Rng): Condition {
  return {
    speed: base.speed * (1 + 0.015 * rng.normal()),
    load: base.load * (1 + 0.1 * rng.normal()),
    background: base.background * Math.exp(0.3 * rng.normal()),
  };
}

function drawAnomaly(rng: Rng): Anomaly {
  return { kind: ANOMALY_KINDS[rng.int(ANOMALY_KINDS.length)]!, severity: 0.05 + 0.95 * rng.next() ** 1.5 };
}

const ATTR_NAMES: Record<SoundFamily, [string, string]> = {
  rotating: ['spd', 'noise'],
  pump: ['flow', 'load'],
  slider: ['vel', 'load'],
  valve: ['pat', 'noise'],
  motor: ['spd', 'load'],
};

interface AttrCombo {
  attrs: [string, string][];
  condition: Condition;
}

/** 2023 attribute combinations: source ones stay near nominal, target ones shift speed and load or background. */
function attributeCombos(family: SoundFamily, domain: Domain, count: number): AttrCombo[] {
  const [a, b] = ATTR_NAMES[family];
  const secondIsNoise = b === 'noise';
  const speeds = domain === 'source' ? [1, 0.93, 1.07, 0.97, 1.03] : [1.3, 0.75, 1.45, 0.65];
  const seconds = domain === 'source' ? [1, 1.15, 0.9, 1.05, 0.95] : [secondIsNoise ? 3 : 1.7, secondIsNoise ? 2.2 : 0.6, 2.6, 1.4];
  const out: AttrCombo[] = [];
  for (let i = 0; i < count; i++) {
    const speed = speeds[i % speeds.length]!;
    const second = seconds[i % seconds.length]!;
    out.push({
      attrs: [
        [a, String(Math.round(speed * 100))],
        [b, String(Math.round(second * 100))],
      ],
      condition: { speed, load: secondIsNoise ? 1 : second, background: secondIsNoise ? second : 1 },
    });
  }
  return out;
}

/** The full list of clips a dataset consists of, in a stable order; nothing is rendered yet. */
export function planDataset(options: SynthOptions): ClipSpec[] {
  const { edition } = options;
  if (edition !== 2020 && edition !== 2023) throw new SynthOptionsError(`edition must be 2020 or 2023, got ${String(edition)}`);
  if (!(options.clipSeconds > 0 && options.clipSeconds <= 60)) throw new SynthOptionsError(`clipSeconds must be in (0, 60], got ${options.clipSeconds}`);
  const seed = options.seed ?? 0;
  const train = positive('trainPerMachine', options.trainPerMachine);
  const testN = positive('testNormalPerMachine', options.testNormalPerMachine);
  const testA = positive('testAnomalyPerMachine', options.testAnomalyPerMachine);
  const splits = options.splits ?? ['dev', 'eval'];
  const devTypes = options.machineTypes ?? (edition === 2020 ? [...DCASE2020_TYPES] : [...DCASE2023_DEV_TYPES]);
  const evalTypes = options.evalMachineTypes ?? (edition === 2020 ? devTypes : [...DCASE2023_EVAL_TYPES]);
  for (const t of [...devTypes, ...evalTypes]) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(t)) throw new SynthOptionsError(`machine type ${JSON.stringify(t)} must be letters, digits and '-' (it becomes a folder and a file-name part)`);
  }
  const clips: ClipSpec[] = [];
  const add = (c: Omit<ClipSpec, 'seed' | 'condition'> & { base: Condition }): void => {
    const key = `${edition}/${c.split}/${c.machineType}/${c.set}/${c.labelledName}`;
    const rng = new Rng(hashSeed(seed, `cond/${key}`));
    const { base, ...rest } = c;
    const clip: ClipSpec = { ...rest, condition: drift(base, rng), seed: hashSeed(seed, `clip/${key}`) };
    if (c.label === 'anomaly') clip.anomaly = drawAnomaly(rng);
    clips.push(clip);
  };
  for (const split of splits) {
    const types = split === 'dev' ? devTypes : evalTypes;
    for (const machineType of types) {
      const family = familyOf(machineType);
      const dir = `${split}_data/${machineType}`;
      if (edition === 2020) {
        const nominal: Condition = { speed: 1, load: 1, background: 1 };
        for (const id of ids2020(machineType, split, options.idsPerType ?? 4)) {
          const machine = `id_${pad(id, 2)}`;
          const common = { split, machineType, family, machine, domain: 'source' as const, attributes: [], base: nominal };
          for (let i = 0; i < train; i++) {
            const name = `normal_${machine}_${pad(i, 8)}.wav`;
            add({ ...common, set: 'train', label: 'normal', labelledName: name, path: `${dir}/train/${name}` });
          }
          const tests: { label: 'normal' | 'anomaly'; name: string }[] = [];
          for (let i = 0; i < testN; i++) tests.push({ label: 'normal', name: `normal_${machine}_${pad(i, 8)}.wav` });
          for (let i = 0; i < testA; i++) tests.push({ label: 'anomaly', name: `anomaly_${machine}_${pad(i, 8)}.wav` });
          // eval test files are renamed to id_XX_NNNNNNNN.wav in a shuffled order, so the name says nothing
          const order = split === 'eval' ? new Rng(hashSeed(seed, `order/${dir}/${machine}`)).shuffle([...tests.keys()]) : [...tests.keys()];
          order.forEach((ti, k) => {
            const t = tests[ti]!;
            const path = split === 'eval' ? `${dir}/test/${machine}_${pad(k, 8)}.wav` : `${dir}/test/${t.name}`;
            add({ ...common, set: 'test', label: t.label, labelledName: t.name, path });
          });
        }
      } else {
        const section = 'section_00';
        const srcCombos = attributeCombos(family, 'source', options.sourceAttributes ?? 2);
        const tgtCombos = attributeCombos(family, 'target', options.targetAttributes ?? 1);
        const attrName = (a: [string, string][]): string => a.map(([k, v]) => `${k}_${v}`).join('_');
        const domains: [Domain, AttrCombo[], number][] = [
          ['source', srcCombos, train],
          ['target', tgtCombos, positive('targetTrainPerSection', options.targetTrainPerSection ?? 2)],
        ];
        const tests: { label: 'normal' | 'anomaly'; name: string; domain: Domain; combo: AttrCombo }[] = [];
        for (const [domain, combos, nTrain] of domains) {
          for (let i = 0; i < nTrain; i++) {
            const combo = combos[i % combos.length]!;
            const name = `${section}_${domain}_train_normal_${pad(i, 4)}_${attrName(combo.attrs)}.wav`;
            add({ split, machineType, family, machine: section, domain, attributes: combo.attrs, base: combo.condition, set: 'train', label: 'normal', labelledName: name, path: `${dir}/train/${name}` });
          }
          for (const label of ['normal', 'anomaly'] as const) {
            const count = label === 'normal' ? testN : testA;
            for (let i = 0; i < count; i++) {
              const combo = combos[i % combos.length]!;
              tests.push({ label, domain, combo, name: `${section}_${domain}_test_${label}_${pad(i, 4)}_${attrName(combo.attrs)}.wav` });
            }
          }
        }
        const order = split === 'eval' ? new Rng(hashSeed(seed, `order/${dir}/${section}`)).shuffle([...tests.keys()]) : [...tests.keys()];
        order.forEach((ti, k) => {
          const t = tests[ti]!;
          const path = split === 'eval' ? `${dir}/test/${section}_${pad(k, 4)}.wav` : `${dir}/test/${t.name}`;
          add({ split, machineType, family, machine: section, domain: t.domain, attributes: t.combo.attrs, base: t.combo.condition, set: 'test', label: t.label, labelledName: t.name, path });
        });
      }
    }
  }
  return clips;
}
