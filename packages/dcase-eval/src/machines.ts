/**
 * Machine types and IDs / sections of the two editions, as the official baselines list them
 * (nttcslab/dcase2023_task2_baseline_ae datasets/machine_type_legacy.yaml for 2020,
 * machine_type_2023_dev.yaml / machine_type_2023_eval.yaml for 2023).
 */

export type Edition = 2020 | 2023;
export type Split = 'dev' | 'eval';

export const DCASE2020_MACHINE_TYPES = ['fan', 'pump', 'slider', 'ToyCar', 'ToyConveyor', 'valve'] as const;
export type Dcase2020MachineType = (typeof DCASE2020_MACHINE_TYPES)[number];

/** 2020: the same six types in dev and eval; the machine IDs differ (23 dev + 18 eval = 41). */
export const DCASE2020_IDS: Readonly<Record<Dcase2020MachineType, { dev: readonly string[]; eval: readonly string[] }>> = {
  fan: { dev: ['00', '02', '04', '06'], eval: ['01', '03', '05'] },
  pump: { dev: ['00', '02', '04', '06'], eval: ['01', '03', '05'] },
  slider: { dev: ['00', '02', '04', '06'], eval: ['01', '03', '05'] },
  ToyCar: { dev: ['01', '02', '03', '04'], eval: ['05', '06', '07'] },
  ToyConveyor: { dev: ['01', '02', '03'], eval: ['04', '05', '06'] },
  valve: { dev: ['00', '02', '04', '06'], eval: ['01', '03', '05'] },
};

/** 2023: dev and eval machine types are disjoint; one section (00) each. Order as in the paper's Table 2. */
export const DCASE2023_DEV_MACHINE_TYPES = ['bearing', 'fan', 'gearbox', 'slider', 'ToyCar', 'ToyTrain', 'valve'] as const;
export const DCASE2023_EVAL_MACHINE_TYPES = ['bandsaw', 'grinder', 'shaker', 'ToyDrone', 'ToyNscale', 'ToyTank', 'Vacuum'] as const;
export const DCASE2023_SECTIONS = ['00'] as const;

export function machineTypes(edition: Edition, split: Split): readonly string[] {
  if (edition === 2020) return DCASE2020_MACHINE_TYPES;
  return split === 'dev' ? DCASE2023_DEV_MACHINE_TYPES : DCASE2023_EVAL_MACHINE_TYPES;
}

/** The split a machine type belongs to in 2023, or a 2020 (type, id) pair belongs to; undefined if unknown. */
export function splitOf(edition: Edition, type: string, idOrSection?: string): Split | undefined {
  if (edition === 2023) {
    if ((DCASE2023_DEV_MACHINE_TYPES as readonly string[]).includes(type)) return 'dev';
    if ((DCASE2023_EVAL_MACHINE_TYPES as readonly string[]).includes(type)) return 'eval';
    return undefined;
  }
  const ids = DCASE2020_IDS[type as Dcase2020MachineType] as (typeof DCASE2020_IDS)[Dcase2020MachineType] | undefined;
  if (!ids || idOrSection === undefined) return undefined;
  if (ids.dev.includes(idOrSection)) return 'dev';
  if (ids.eval.includes(idOrSection)) return 'eval';
  return undefined;
}
