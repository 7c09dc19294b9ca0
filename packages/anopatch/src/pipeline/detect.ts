import { decisionThreshold, type Edition } from '@anopatch/dcase-eval';
import { ExactBank, GroupedDetector, GroupedDomainMinDetector, HnswBank, type KnnBank } from '@anopatch/knn-backend';

import type { EmbeddedClipInfo } from './embed.js';
import { PipelineFileError } from './errors.js';

export type BankChoice = 'exact' | 'hnsw';

export interface DetectorOptions {
  /** 'exact' (default) or 'hnsw' (approximate; for banks of many thousands of clips). */
  bank?: BankChoice;
  /** Neighbours averaged into a score (paper: 1). */
  k?: number;
}

export interface ScoredClip {
  clip: EmbeddedClipInfo;
  score: number;
  /** id (relative path) of the nearest training clip */
  neighbour: string;
  /** 2023: the bank that gave the minimum */
  bankDomain?: 'source' | 'target';
}

/** The paper's detection protocol over one split's training embeddings. */
export interface Detector {
  readonly edition: Edition;
  /** bank keys: 2020 'type/id_NN', 2023 'type/section_NN' (each with a source and a target bank) */
  readonly groups: string[];
  score(clips: readonly EmbeddedClipInfo[], embeddings: readonly Float32Array[]): ScoredClip[];
  /** Leave-one-out scores of the training clips per group (for the 2023 decision threshold). */
  trainScores(group: string): number[];
  save(dir: string): void;
}

export function groupOf(edition: Edition, clip: Pick<EmbeddedClipInfo, 'type' | 'group'>): string {
  return edition === 2020 ? `${clip.type}/id_${clip.group}` : `${clip.type}/section_${clip.group}`;
}

function makeBank(dim: number, options: DetectorOptions, name: string): KnnBank {
  const k = options.k ?? 1;
  return options.bank === 'hnsw' ? new HnswBank({ dim, k, name }) : new ExactBank({ dim, k, name });
}

/** Leave-one-out nearest distance of every row of a bank (the nearest other row). */
function looScores(bank: KnnBank, rows: readonly Float32Array[], k: number): number[] {
  if (bank.size < 2) return rows.map(() => 0);
  const res = bank.search(rows, { k: Math.min(k + 1, bank.size) });
  return rows.map((_, q) => {
    let sum = 0;
    let n = 0;
    for (let j = 0; j < res.k && n < k; j++) {
      if (res.indices[q * res.k + j] === q) continue;
      sum += res.distances[q * res.k + j]!;
      n++;
    }
    return sum / Math.max(1, n);
  });
}

/**
 * Build the banks the paper uses: DCASE 2020 one bank per (machine type, machine ID); DCASE 2023 one
 * source and one target bank per machine type (section), a clip's score being the smaller of its two
 * k=1 cosine distances.
 */
export function buildDetector(edition: Edition, clips: readonly EmbeddedClipInfo[], embeddings: readonly Float32Array[], options: DetectorOptions = {}): Detector {
  const train = clips.map((c, i) => ({ c, e: embeddings[i]! })).filter(({ c }) => c.subset === 'train');
  if (train.length === 0) throw new PipelineFileError('<embeddings>', 'no training clips to build banks from');
  const dim = train[0]!.e.length;
  const k = options.k ?? 1;
  const byGroup = new Map<string, { c: EmbeddedClipInfo; e: Float32Array }[]>();
  for (const t of train) {
    const g = groupOf(edition, t.c);
    byGroup.set(g, [...(byGroup.get(g) ?? []), t]);
  }
  if (edition === 2020) {
    const det = new GroupedDetector({ factory: (g) => makeBank(dim, options, g) });
    for (const [g, rows] of byGroup) det.add(g, rows.map((r) => r.e), rows.map((r) => r.c.path));
    return {
      edition,
      groups: det.groups(),
      score(test, vecs) {
        return test.map((clip, i) => {
          const s = det.score(groupOf(edition, clip), vecs[i]!);
          return { clip, score: s.score, neighbour: s.neighbourId };
        });
      },
      trainScores(g) {
        return looScores(det.bank(g), byGroup.get(g)!.map((r) => r.e), k);
      },
      save(dir) {
        det.save(dir, { overwrite: true });
      },
    };
  }
  const det = new GroupedDomainMinDetector({ factory: (g, d) => makeBank(dim, options, `${g} ${d}`) });
  for (const [g, rows] of byGroup) {
    for (const domain of ['source', 'target'] as const) {
      const mine = rows.filter((r) => r.c.domain === domain);
      if (mine.length === 0) throw new PipelineFileError(g, `no ${domain}-domain training clips: DCASE 2023 scoring needs a source and a target bank per machine type`);
      det.add(g, domain, mine.map((r) => r.e), mine.map((r) => r.c.path));
    }
  }
  return {
    edition,
    groups: det.groups(),
    score(test, vecs) {
      return test.map((clip, i) => {
        const s = det.score(groupOf(edition, clip), vecs[i]!);
        return { clip, score: s.score, neighbour: s.domain === 'source' ? s.source.neighbourId : s.target.neighbourId, bankDomain: s.domain };
      });
    },
    trainScores(g) {
      // a training clip is scored like a test clip: min over the two banks, itself left out of its own
      const rows = byGroup.get(g)!;
      const d = det.detector(g);
      const out: number[] = [];
      for (const domain of ['source', 'target'] as const) {
        const mine = rows.filter((r) => r.c.domain === domain).map((r) => r.e);
        const own = looScores(d.bank(domain), mine, k);
        const other = d.bank(domain === 'source' ? 'target' : 'source').search(mine, { k }).scores;
        own.forEach((s, i) => out.push(Math.min(s, other[i]!)));
      }
      return out;
    },
    save(dir) {
      det.save(dir, { overwrite: true });
    },
  };
}

/** The 2023 baselines' decision threshold: the 90th percentile of a gamma fit to the training scores. */
export function groupThreshold(detector: Detector, group: string): number {
  const scores = detector.trainScores(group);
  // a gamma fit needs spread; a degenerate bank (all distances equal) gets that distance as threshold
  if (scores.length < 3 || scores.every((s) => s === scores[0])) return scores[0] ?? 0;
  return decisionThreshold(scores, 0.9);
}
