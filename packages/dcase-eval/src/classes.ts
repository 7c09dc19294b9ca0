import { MetricInputError } from './errors.js';
import { DCASE2020_MACHINE_TYPES, DCASE2023_DEV_MACHINE_TYPES, DCASE2023_EVAL_MACHINE_TYPES, type Edition } from './machines.js';
import type { ClipRecord } from './scan.js';

/**
 * Metadata classes the ArcFace head is trained on (the paper, Table 4):
 *   2020: machine type x machine ID        (41 over the dev + eval training sets)
 *   2023: machine type x attribute string  (167 over the dev + eval training sets)
 * The class of a 2023 clip is its type plus the full attribute string of its name
 * (`ToyCar` + `car_A1_spd_28V_mic_1_noise_1`); source and target clips with the same attributes share one.
 */
export interface ClassInfo {
  index: number;
  key: string;
  type: string;
  /** machine ID (2020) or attribute string (2023) */
  value: string;
}

export interface ClassTable {
  edition: Edition;
  classes: ClassInfo[];
  /** class index of a record; throws MetricInputError for a record whose class is not in the table */
  labelOf(record: ClipRecord): number;
}

function typeRank(edition: Edition, t: string): number {
  const order: readonly string[] = edition === 2020 ? DCASE2020_MACHINE_TYPES : [...DCASE2023_DEV_MACHINE_TYPES, ...DCASE2023_EVAL_MACHINE_TYPES];
  const i = order.indexOf(t);
  return i < 0 ? order.length : i;
}

export function classKey(record: ClipRecord): string {
  if (record.edition === 2020) {
    if (record.id === null) throw new MetricInputError(`${record.path}: 2020 clip without a machine ID`);
    return `${record.type}/id_${record.id}`;
  }
  if (record.attributes === null) {
    throw new MetricInputError(`${record.path}: attributes unknown (unlabelled eval test name); it has no training class`);
  }
  return `${record.type}/section_${record.section ?? '00'}/${record.attributes}`;
}

/**
 * Build the class table from records (normally the training clips of the dev AND eval scans
 * together). Classes are ordered by machine type (the edition's list; 2023: dev types, then eval types), then
 * by ID / attribute string, so the indices do not depend on scan order.
 */
export function buildClassTable(records: readonly ClipRecord[], edition: Edition): ClassTable {
  const byKey = new Map<string, { type: string; value: string }>();
  for (const r of records) {
    if (r.edition !== edition) throw new MetricInputError(`${r.path}: a DCASE ${r.edition} clip in a ${edition} class table`);
    const key = classKey(r);
    if (!byKey.has(key)) byKey.set(key, { type: r.type, value: edition === 2020 ? r.id! : `${r.section ?? '00'}/${r.attributes!}` });
  }
  const sorted = [...byKey.entries()].sort(([ka, a], [kb, b]) => typeRank(edition, a.type) - typeRank(edition, b.type) || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const classes = sorted.map(([key, v], index) => ({ index, key, type: v.type, value: v.value }));
  const indexOf = new Map(classes.map((c) => [c.key, c.index]));
  return {
    edition,
    classes,
    labelOf(record: ClipRecord): number {
      const i = indexOf.get(classKey(record));
      if (i === undefined) throw new MetricInputError(`${record.path}: class ${classKey(record)} is not in the class table`);
      return i;
    },
  };
}
