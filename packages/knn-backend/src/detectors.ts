import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { BANK_FORMAT, MANIFEST, type KnnBank, type LoadOptions, type QueryScore, type SearchOptions } from './bank.js';
import { BankMismatchError, CorruptBankFileError, InvalidKnnParameterError, UnknownGroupError } from './errors.js';
import { ExactBank } from './exact.js';
import { HnswBank } from './hnsw.js';
import { FORMAT_VERSION, field, prepareDir, readManifest, sha256, writeManifest, type SaveOptions } from './persist.js';
import type { Vector, Vectors } from './vectors.js';

/** Loads a bank saved by either implementation, dispatching on the manifest's `kind`. */
export function loadBank(dir: string, options?: LoadOptions & { name?: string }): KnnBank {
  const { body } = readManifest(join(dir, MANIFEST), BANK_FORMAT);
  return body.kind === 'hnsw' ? HnswBank.load(dir, options) : ExactBank.load(dir, options);
}

/** Joins key parts into a group key: groupKey('fan', 'id_00') === 'fan/id_00'. */
export function groupKey(...parts: readonly string[]): string {
  return parts.join('/');
}

const DETECTOR_MANIFEST = 'detector.json';
const GROUPED_FORMAT = 'anopatch-knn-grouped';
const DOMAIN_FORMAT = 'anopatch-knn-domain-min';

export type Domain = 'source' | 'target';
export const DOMAINS: readonly Domain[] = ['source', 'target'];

export type BankFactory<K extends string = string> = (key: K) => KnnBank;

interface Saveable {
  save(dir: string, options?: SaveOptions): void;
}

/** Saves children into numbered subdirectories (group keys may hold '/'), then a manifest naming them. */
function saveChildren(dir: string, format: string, entries: readonly (readonly [string, Saveable])[], options: SaveOptions | undefined, childManifest: string): void {
  prepareDir(dir, DETECTOR_MANIFEST, options);
  const children = entries.map(([key, child], i) => {
    const sub = `g${String(i).padStart(5, '0')}`;
    child.save(join(dir, sub), { overwrite: true });
    return { key, dir: sub, manifestSha256: sha256(readFileSync(join(dir, sub, childManifest))) };
  });
  writeManifest(join(dir, DETECTOR_MANIFEST), { format, formatVersion: FORMAT_VERSION, children });
}

/** Reads a detector manifest and checks each child's manifest against the sha256 recorded for it. */
function readChildren(dir: string, format: string, childManifest: string): { key: string; dir: string }[] {
  const file = join(dir, DETECTOR_MANIFEST);
  const { body } = readManifest(file, format);
  const children = field(body, 'children', file);
  if (!Array.isArray(children)) throw new CorruptBankFileError(file, "manifest field 'children' must be an array");
  const seen = new Set<string>();
  return children.map((c: unknown, i) => {
    const e = c as { key?: unknown; dir?: unknown; manifestSha256?: unknown } | null;
    if (e === null || typeof e !== 'object' || typeof e.key !== 'string' || typeof e.dir !== 'string' || !/^g\d{5}$/.test(e.dir) || typeof e.manifestSha256 !== 'string') {
      throw new CorruptBankFileError(file, `children[${i}] must be { key, dir: 'gNNNNN', manifestSha256 }`);
    }
    if (seen.has(e.key)) throw new CorruptBankFileError(file, `group '${e.key}' is listed twice`);
    seen.add(e.key);
    const m = join(dir, e.dir, childManifest);
    if (!existsSync(m)) throw new CorruptBankFileError(m, `missing, though ${file} lists it for '${e.key}'`);
    if (sha256(readFileSync(m)) !== e.manifestSha256) {
      throw new CorruptBankFileError(m, `does not match the sha256 ${file} records for '${e.key}' (files from different saves mixed?)`);
    }
    return { key: e.key, dir: join(dir, e.dir) };
  });
}

/**
 * One bank per group key (DCASE 2020: 'type/id'; or 'type/section', ...). A clip is scored against
 * its own group's bank only; a group with no bank is an UnknownGroupError, never a silent fallback.
 */
export class GroupedDetector {
  private readonly banks = new Map<string, KnnBank>();
  private readonly factory: BankFactory | undefined;

  /** `factory` makes the bank for a group the first time `add` sees it (optional for a loaded detector). */
  constructor(options: { factory?: BankFactory } = {}) {
    this.factory = options.factory;
  }

  /** Adds normal embeddings of `group`, creating its bank on first use. */
  add(group: string, vectors: Vectors, ids?: readonly string[]): void {
    const bank = this.banks.get(group);
    if (bank === undefined) {
      if (this.factory === undefined) {
        throw new InvalidKnnParameterError(`group '${group}' has no bank and this detector has no factory to make one; pass { factory } to create or load`);
      }
      // Registered only once its first add succeeded: a rejected batch must not leave an empty group behind.
      const fresh = this.factory(group);
      fresh.add(vectors, ids);
      this.banks.set(group, fresh);
      return;
    }
    bank.add(vectors, ids);
  }

  has(group: string): boolean {
    return this.banks.has(group);
  }

  /** Group keys in the order their banks were created. */
  groups(): string[] {
    return [...this.banks.keys()];
  }

  bank(group: string): KnnBank {
    const bank = this.banks.get(group);
    if (bank === undefined) throw new UnknownGroupError(group, this.groups());
    return bank;
  }

  score(group: string, query: Vector, options?: SearchOptions): QueryScore {
    return this.bank(group).score(query, options);
  }

  /** Scores many clips of one group at once (the fast path). */
  scoreBatch(group: string, queries: Vectors, options?: SearchOptions): QueryScore[] {
    return this.bank(group).scoreBatch(queries, options);
  }

  save(dir: string, options?: SaveOptions): void {
    saveChildren(dir, GROUPED_FORMAT, [...this.banks.entries()], options, MANIFEST);
  }

  static load(dir: string, options: LoadOptions & { factory?: BankFactory } = {}): GroupedDetector {
    const det = new GroupedDetector(options.factory !== undefined ? { factory: options.factory } : {});
    for (const { key, dir: sub } of readChildren(dir, GROUPED_FORMAT, MANIFEST)) {
      det.banks.set(key, loadBank(sub, { ...options, name: key }));
    }
    return det;
  }
}

export interface DomainScore {
  /** min(source score, target score): the DCASE 2023 domain-generalisation score. */
  readonly score: number;
  /** Which bank gave the minimum (source on a tie). */
  readonly domain: Domain;
  readonly source: QueryScore;
  readonly target: QueryScore;
}

/**
 * DCASE 2023: a source bank and a target bank for one machine type; a clip's score is the smaller
 * of its two scores, so a target-domain normal clip is not penalised for being far from the source clips.
 */
export class DomainMinDetector {
  private readonly banks: Record<Domain, KnnBank>;

  constructor(options: { factory: BankFactory<Domain> } | { banks: Record<Domain, KnnBank> }) {
    if ('banks' in options) {
      const { source, target } = options.banks;
      if (source.dim !== target.dim) throw new InvalidKnnParameterError(`source bank is ${source.dim}-d but target bank is ${target.dim}-d`);
      this.banks = { source, target };
    } else {
      const source = options.factory('source');
      const target = options.factory('target');
      if (source.dim !== target.dim) throw new InvalidKnnParameterError(`factory made a ${source.dim}-d source bank but a ${target.dim}-d target bank`);
      this.banks = { source, target };
    }
  }

  get dim(): number {
    return this.banks.source.dim;
  }

  bank(domain: Domain): KnnBank {
    if (domain !== 'source' && domain !== 'target') throw new InvalidKnnParameterError(`unknown domain '${String(domain)}' (expected 'source' or 'target')`);
    return this.banks[domain];
  }

  add(domain: Domain, vectors: Vectors, ids?: readonly string[]): void {
    this.bank(domain).add(vectors, ids);
  }

  score(query: Vector, options?: SearchOptions): DomainScore {
    return combine(this.banks.source.score(query, options), this.banks.target.score(query, options));
  }

  scoreBatch(queries: Vectors, options?: SearchOptions): DomainScore[] {
    const source = this.banks.source.scoreBatch(queries, options);
    const target = this.banks.target.scoreBatch(queries, options);
    return source.map((s, i) => combine(s, target[i]!));
  }

  save(dir: string, options?: SaveOptions): void {
    saveChildren(dir, DOMAIN_FORMAT, DOMAINS.map((d) => [d, this.banks[d]] as const), options, MANIFEST);
  }

  static load(dir: string, options?: LoadOptions): DomainMinDetector {
    const children = readChildren(dir, DOMAIN_FORMAT, MANIFEST);
    const file = join(dir, DETECTOR_MANIFEST);
    const byKey = new Map(children.map((c) => [c.key, c.dir]));
    if (children.length !== 2 || !byKey.has('source') || !byKey.has('target')) {
      throw new CorruptBankFileError(file, `must list exactly the 'source' and 'target' banks, lists ${children.map((c) => `'${c.key}'`).join(', ')}`);
    }
    const source = loadBank(byKey.get('source')!, { ...options, name: `${dir} source` });
    const target = loadBank(byKey.get('target')!, { ...options, name: `${dir} target` });
    if (source.dim !== target.dim) throw new BankMismatchError(file, `source bank is ${source.dim}-d but target bank is ${target.dim}-d`);
    return new DomainMinDetector({ banks: { source, target } });
  }
}

function combine(source: QueryScore, target: QueryScore): DomainScore {
  const fromTarget = target.score < source.score;
  return { score: fromTarget ? target.score : source.score, domain: fromTarget ? 'target' : 'source', source, target };
}

/** DCASE 2023 as a whole: one DomainMinDetector per group (machine type). */
export class GroupedDomainMinDetector {
  private readonly detectors = new Map<string, DomainMinDetector>();
  private readonly factory: ((group: string, domain: Domain) => KnnBank) | undefined;

  constructor(options: { factory?: (group: string, domain: Domain) => KnnBank } = {}) {
    this.factory = options.factory;
  }

  add(group: string, domain: Domain, vectors: Vectors, ids?: readonly string[]): void {
    const det = this.detectors.get(group);
    if (det === undefined) {
      const factory = this.factory;
      if (factory === undefined) {
        throw new InvalidKnnParameterError(`group '${group}' has no banks and this detector has no factory to make them; pass { factory } to create or load`);
      }
      const fresh = new DomainMinDetector({ factory: (d) => factory(group, d) });
      fresh.add(domain, vectors, ids);
      this.detectors.set(group, fresh);
      return;
    }
    det.add(domain, vectors, ids);
  }

  has(group: string): boolean {
    return this.detectors.has(group);
  }

  groups(): string[] {
    return [...this.detectors.keys()];
  }

  detector(group: string): DomainMinDetector {
    const det = this.detectors.get(group);
    if (det === undefined) throw new UnknownGroupError(group, this.groups());
    return det;
  }

  score(group: string, query: Vector, options?: SearchOptions): DomainScore {
    return this.detector(group).score(query, options);
  }

  scoreBatch(group: string, queries: Vectors, options?: SearchOptions): DomainScore[] {
    return this.detector(group).scoreBatch(queries, options);
  }

  save(dir: string, options?: SaveOptions): void {
    saveChildren(dir, GROUPED_FORMAT + '-domain-min', [...this.detectors.entries()], options, DETECTOR_MANIFEST);
  }

  static load(dir: string, options: LoadOptions & { factory?: (group: string, domain: Domain) => KnnBank } = {}): GroupedDomainMinDetector {
    const det = new GroupedDomainMinDetector(options.factory !== undefined ? { factory: options.factory } : {});
    for (const { key, dir: sub } of readChildren(dir, GROUPED_FORMAT + '-domain-min', DETECTOR_MANIFEST)) {
      det.detectors.set(key, DomainMinDetector.load(sub, options));
    }
    return det;
  }
}
