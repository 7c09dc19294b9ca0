import { BaseBank, readBankFiles, type BankOptions, type LoadOptions } from './bank.js';
import { exactTopK } from './kernel.js';

/**
 * Brute-force bank: every query is compared with every row (blocked product, float64 accumulation).
 * Exact, deterministic (ties go to the lower row index), and at DCASE bank sizes (~1k rows) far
 * cheaper than extracting the embedding it scores.
 */
export class ExactBank extends BaseBank {
  readonly kind = 'exact' as const;

  constructor(options: BankOptions) {
    super(options, 'exact bank');
  }

  /** Loads a bank saved by `save`; a corrupt or mismatched directory is a typed error. */
  static load(dir: string, options?: LoadOptions & { name?: string }): ExactBank {
    const files = readBankFiles(dir, { ...options, kind: 'exact' });
    const bank = new ExactBank({ dim: files.dim, k: files.k, name: options?.name ?? dir });
    bank.restore(files.rows, files.ids);
    return bank;
  }

  protected searchUnit(queries: Float64Array, rows: number, k: number, sims: Float64Array, indices: Int32Array): void {
    exactTopK(queries, rows, this.rows, this.count, this.dim, k, sims, indices);
  }

  protected insertRows(): void {
    // Rows are searched where they lie; nothing to index.
  }

  protected saveExtra(): Record<string, unknown> {
    return {};
  }
}
