import paperTables from './paper-tables.json' with { type: 'json' };

/**
 * The AnoPatch paper's published numbers (Interspeech 2024, Tables 1-4), copied from the project's
 * shared/paper-tables.json: percent; 2020 figures are the arithmetic mean of AUC and pAUC per
 * machine type, 2023 figures harmonic means (DCASE rules).
 */
export const PAPER = paperTables;

export const DCASE2020_TYPES = ['fan', 'pump', 'slider', 'ToyCar', 'ToyConveyor', 'valve'] as const;
export const DCASE2023_DEV_TYPES = ['bearing', 'fan', 'gearbox', 'slider', 'ToyCar', 'ToyTrain', 'valve'] as const;
export const DCASE2023_EVAL_TYPES = ['bandsaw', 'grinder', 'shaker', 'ToyDrone', 'ToyNscale', 'ToyTank', 'Vacuum'] as const;

/** Per machine type figures plus the split's mean; null where the paper gives no figure. */
export type SplitFigures = Record<string, number | null>;
export interface PaperSystemRow {
  system: string;
  dev: SplitFigures;
  eval: SplitFigures;
  all: number | null;
}

export const ANOPATCH = 'AnoPatch (Ours)';

/** Table 1 (DCASE 2020 Task 2) rows: per-type figures plus `mean`. */
export function paperTable1(): PaperSystemRow[] {
  return Object.entries(PAPER.table1_dcase2020).map(([system, r]) => ({ system, dev: r.dev, eval: r.eval, all: r.all_mean }));
}

/** Table 2 (DCASE 2023 Task 2) rows: per-type figures plus `hmean`. */
export function paperTable2(): PaperSystemRow[] {
  return Object.entries(PAPER.table2_dcase2023).map(([system, r]) => ({ system, dev: r.dev, eval: r.eval, all: r.all_hmean }));
}

export interface PaperBackboneRow {
  backbone: string;
  size: string;
  domain: string;
  dev: SplitFigures;
  eval: SplitFigures;
}

/** Paper name of each registered backbone id (Table 3). */
export const TABLE3_BACKBONES: Record<string, string> = {
  wav2vec2: 'Wav2Vec 2.0',
  hubert: 'HuBERT',
  unispeech: 'UniSpeech',
  wavlm: 'WavLM',
  ast: 'AST',
  imagebind: 'Imagebind',
  atst: 'ATST',
  beats: 'BEATs',
};

/** Table 3 (eight backbones fine-tuned the same way on DCASE 2020): per-type figures plus `mean`. */
export function paperTable3(): PaperBackboneRow[] {
  const t = PAPER.table3_backbones_dcase2020;
  return Object.keys(t.dev).map((backbone) => {
    const { size, domain, ...dev } = t.dev[backbone as keyof typeof t.dev];
    const { size: _s, domain: _d, ...ev } = t.eval[backbone as keyof typeof t.eval];
    return { backbone, size, domain, dev, eval: ev };
  });
}

/** Table 4: the fine-tuning hyper-parameters (the defaults of `anopatch train` and the table runs). */
export const PAPER_HYPERPARAMETERS = PAPER.table4_hyperparameters;
