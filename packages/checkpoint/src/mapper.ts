import { StateDictMismatchError, TensorLayoutError } from './errors.js';
import { contiguousStrides, gatherStrided, numelOf, type TensorData, type TensorRecord } from './tensor.js';

/** One rename step. A string `from` rewrites a name prefix; a RegExp works like String#replace. */
export interface RenameRule {
  from: string | RegExp;
  to: string;
  /** applied to a tensor whose name this rule rewrote (e.g. transpose a Linear weight) */
  transform?: (t: TensorRecord, target: string) => TensorRecord;
}

export interface StateDictMapperOptions {
  /** applied in order; each rule rewrites the name the previous rules produced */
  rules?: readonly RenameRule[];
  /** source names (after no renaming) that are known to be unused and should not be reported as such */
  ignore?: readonly (string | RegExp)[];
}

export type ExpectedShapes = Map<string, readonly number[]> | Record<string, readonly number[]>;

export interface MapOptions {
  /** target names that may be absent without counting as missing */
  optional?: readonly (string | RegExp)[];
  /** applied to every mapped tensor after the rule transforms */
  transform?: (t: TensorRecord, target: string, source: string) => TensorRecord;
}

export interface ShapeMismatch {
  target: string;
  source: string;
  expected: number[];
  actual: number[];
}

export interface MappingReport {
  /** target name -> tensor, for every expected target found with the right shape */
  mapped: Map<string, TensorRecord>;
  /** target name -> source name it came from */
  sources: Map<string, string>;
  /** source names that matched no expected target (ignored ones excluded) */
  unused: string[];
  /** source names dropped by `ignore` */
  ignored: string[];
  /** expected targets that no source provided (optional ones excluded) */
  missing: string[];
  shapeMismatches: ShapeMismatch[];
  /** targets that several sources renamed onto: [target, sources] */
  duplicates: [string, string[]][];
  /** no missing, no mismatched, no duplicate */
  ok: boolean;
}

function matches(pattern: string | RegExp, name: string): boolean {
  return typeof pattern === 'string' ? pattern === name : (pattern.lastIndex = 0, pattern.test(name));
}

/**
 * Maps an official checkpoint's state dict onto a model's parameter names: rename rules, shape
 * checks, and a report of what was unused, missing or mismatched, so `loadWeights` can say exactly
 * which names it did not use or could not find.
 */
export class StateDictMapper {
  private readonly rules: readonly RenameRule[];
  private readonly ignore: readonly (string | RegExp)[];

  constructor(options: StateDictMapperOptions = {}) {
    this.rules = options.rules ?? [];
    this.ignore = options.ignore ?? [];
  }

  /** The target name for a source name, and the transforms of the rules that fired. */
  rename(source: string): { target: string; transforms: NonNullable<RenameRule['transform']>[] } {
    let name = source;
    const transforms: NonNullable<RenameRule['transform']>[] = [];
    for (const rule of this.rules) {
      let next = name;
      if (typeof rule.from === 'string') {
        if (name.startsWith(rule.from)) next = rule.to + name.slice(rule.from.length);
      } else {
        rule.from.lastIndex = 0;
        next = name.replace(rule.from, rule.to);
      }
      if (next !== name) {
        if (rule.transform) transforms.push(rule.transform);
        name = next;
      } else if (typeof rule.from !== 'string' && rule.transform && (rule.from.lastIndex = 0, rule.from.test(name))) {
        // an identity rewrite that still matched: its transform applies
        transforms.push(rule.transform);
      }
    }
    return { target: name, transforms };
  }

  map(source: Map<string, TensorRecord>, expected: ExpectedShapes, options: MapOptions = {}): MappingReport {
    const want = expected instanceof Map ? expected : new Map(Object.entries(expected));
    const mapped = new Map<string, TensorRecord>();
    const sources = new Map<string, string>();
    const claims = new Map<string, string[]>();
    const unused: string[] = [];
    const ignored: string[] = [];
    const shapeMismatches: ShapeMismatch[] = [];
    for (const [name, tensor] of source) {
      if (this.ignore.some((p) => matches(p, name))) {
        ignored.push(name);
        continue;
      }
      const { target, transforms } = this.rename(name);
      const shape = want.get(target);
      if (shape === undefined) {
        unused.push(name);
        continue;
      }
      const claim = claims.get(target) ?? [];
      claim.push(name);
      claims.set(target, claim);
      let t = tensor;
      for (const f of transforms) t = f(t, target);
      if (options.transform) t = options.transform(t, target, name);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        shapeMismatches.push({ target, source: name, expected: [...shape], actual: [...t.shape] });
        continue;
      }
      mapped.set(target, t);
      sources.set(target, name);
    }
    const optional = options.optional ?? [];
    const missing = [...want.keys()].filter((k) => !claims.has(k) && !optional.some((p) => matches(p, k)));
    const duplicates = [...claims].filter(([, s]) => s.length > 1);
    return { mapped, sources, unused, ignored, missing, shapeMismatches, duplicates, ok: missing.length === 0 && shapeMismatches.length === 0 && duplicates.length === 0 };
  }
}

/** A multi-line, human-readable account of a mapping. */
export function formatMappingReport(report: MappingReport, limit = 20): string {
  const list = (xs: string[]): string => (xs.length <= limit ? xs.join(', ') : `${xs.slice(0, limit).join(', ')}, ... (${xs.length - limit} more)`);
  const lines = [`mapped ${report.mapped.size} tensors`];
  if (report.missing.length) lines.push(`missing ${report.missing.length}: ${list(report.missing)}`);
  if (report.unused.length) lines.push(`unused ${report.unused.length}: ${list(report.unused)}`);
  if (report.shapeMismatches.length) {
    lines.push(`shape mismatches ${report.shapeMismatches.length}: ${list(report.shapeMismatches.map((m) => `${m.source} -> ${m.target} [${m.actual.join(', ')}] vs expected [${m.expected.join(', ')}]`))}`);
  }
  if (report.duplicates.length) lines.push(`duplicates ${report.duplicates.length}: ${list(report.duplicates.map(([t, s]) => `${t} <- ${s.join(' & ')}`))}`);
  if (report.ignored.length) lines.push(`ignored ${report.ignored.length}`);
  return lines.join('\n');
}

/** Throws StateDictMismatchError (naming the checkpoint and the first problems) unless the report is ok. */
export function assertMappingComplete(report: MappingReport, what: string): void {
  if (report.ok) return;
  const first = [
    ...report.missing.slice(0, 5).map((m) => `missing ${m}`),
    ...report.shapeMismatches.slice(0, 5).map((m) => `${m.source}: shape [${m.actual.join(', ')}], expected [${m.expected.join(', ')}] for ${m.target}`),
    ...report.duplicates.slice(0, 5).map(([t, s]) => `${t} claimed by ${s.join(' & ')}`),
  ];
  throw new StateDictMismatchError(
    `${what}: state dict does not fit (${report.missing.length} missing, ${report.shapeMismatches.length} shape mismatches, ${report.duplicates.length} duplicates): ${first.join('; ')}`,
  );
}

/** Reorder axes (torch `permute`), as a fresh C-order tensor. `transpose2d` is `permute(t, [1, 0])`. */
export function permute(t: TensorRecord, axes: readonly number[]): TensorRecord {
  const nd = t.shape.length;
  if (axes.length !== nd || [...axes].sort((a, b) => a - b).some((a, i) => a !== i)) {
    throw new TensorLayoutError(`permute: axes [${axes.join(', ')}] are not a permutation of ${nd} dims`);
  }
  const strides = contiguousStrides(t.shape);
  const shape = axes.map((a) => t.shape[a]!);
  const stride = axes.map((a) => strides[a]!);
  const Ctor = t.data.constructor as new (n: number) => TensorData;
  const data = gatherStrided(t.data, { shape, stride, offset: 0 }, (n) => new Ctor(n));
  if (data.length !== numelOf(shape)) throw new TensorLayoutError('permute: size mismatch');
  return { dtype: t.dtype, shape, data };
}

export function transpose2d(t: TensorRecord): TensorRecord {
  if (t.shape.length !== 2) throw new TensorLayoutError(`transpose2d: tensor has shape [${t.shape.join(', ')}], not 2-D`);
  return permute(t, [1, 0]);
}
