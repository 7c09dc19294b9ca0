/**
 * File-name grammar of the DCASE 2020 / 2023 Task 2 datasets as published on Zenodo.
 *
 *   2020 dev  and eval train:  normal_id_00_00000000.wav, anomaly_id_00_00000000.wav
 *   2020 eval test (no label): id_05_00000000.wav
 *   2023 dev  and eval train:  section_00_source_train_normal_0001_<attr>.wav,
 *                              section_00_target_test_anomaly_0001_<attr>.wav
 *   2023 eval test (no label): section_00_0001.wav
 *
 * <attr> is a `key_value_key_value...` string (`car_A1_spd_28V_mic_1_noise_1`, `vel_12`, `m-n_W`).
 */

export type Label = 'normal' | 'anomaly';
export type Domain = 'source' | 'target';
export type Subset = 'train' | 'test';

export interface Name2020 {
  edition: 2020;
  id: string;
  index: string;
  /** undefined for the unlabelled eval test names */
  label: Label | undefined;
}

export interface Name2023 {
  edition: 2023;
  section: string;
  index: string;
  /** undefined for the unlabelled eval test names (domain, subset, label, attributes all unknown) */
  domain: Domain | undefined;
  subset: Subset | undefined;
  label: Label | undefined;
  /** the raw attribute string after the index, '' when the name carries none */
  attributes: string | undefined;
}

const RE_2020_LABELLED = /^(normal|anomaly)_id_(\d{2})_(\d{8})\.wav$/;
const RE_2020_UNLABELLED = /^id_(\d{2})_(\d{8})\.wav$/;
const RE_2023_LABELLED = /^section_(\d{2})_(source|target)_(train|test)_(normal|anomaly)_(\d{4})(?:_(.+))?\.wav$/;
const RE_2023_UNLABELLED = /^section_(\d{2})_(\d{4})\.wav$/;

/** Parse a DCASE 2020 clip name; null if it does not follow the grammar. */
export function parseName2020(file: string): Name2020 | null {
  let m = RE_2020_LABELLED.exec(file);
  if (m) return { edition: 2020, label: m[1] as Label, id: m[2]!, index: m[3]! };
  m = RE_2020_UNLABELLED.exec(file);
  if (m) return { edition: 2020, label: undefined, id: m[1]!, index: m[2]! };
  return null;
}

/** Parse a DCASE 2023 clip name; null if it does not follow the grammar. */
export function parseName2023(file: string): Name2023 | null {
  let m = RE_2023_LABELLED.exec(file);
  if (m) {
    return {
      edition: 2023,
      section: m[1]!,
      domain: m[2] as Domain,
      subset: m[3] as Subset,
      label: m[4] as Label,
      index: m[5]!,
      attributes: m[6] ?? '',
    };
  }
  m = RE_2023_UNLABELLED.exec(file);
  if (m) {
    return { edition: 2023, section: m[1]!, index: m[2]!, domain: undefined, subset: undefined, label: undefined, attributes: undefined };
  }
  return null;
}

/**
 * Split `car_A1_spd_28V_mic_1` into [['car','A1'],['spd','28V'],['mic','1']]. Returns null when the
 * tokens do not pair up; callers then keep the raw string, which is what the class labels use anyway.
 */
export function parseAttributePairs(attributes: string): [string, string][] | null {
  if (attributes === '') return [];
  const tokens = attributes.split('_');
  if (tokens.length % 2 !== 0) return null;
  const pairs: [string, string][] = [];
  for (let i = 0; i < tokens.length; i += 2) pairs.push([tokens[i]!, tokens[i + 1]!]);
  return pairs;
}

/** Build a 2020 clip name (the inverse of parseName2020). */
export function formatName2020(parts: { id: string; index: number | string; label?: Label }): string {
  const idx = String(parts.index).padStart(8, '0');
  const base = `id_${parts.id}_${idx}.wav`;
  return parts.label ? `${parts.label}_${base}` : base;
}

/** Build a 2023 clip name (the inverse of parseName2023); without domain/subset/label it is the eval test form. */
export function formatName2023(parts: {
  section: string;
  index: number | string;
  domain?: Domain;
  subset?: Subset;
  label?: Label;
  attributes?: string;
}): string {
  const idx = String(parts.index).padStart(4, '0');
  if (!parts.domain || !parts.subset || !parts.label) return `section_${parts.section}_${idx}.wav`;
  const attr = parts.attributes ? `_${parts.attributes}` : '';
  return `section_${parts.section}_${parts.domain}_${parts.subset}_${parts.label}_${idx}${attr}.wav`;
}
