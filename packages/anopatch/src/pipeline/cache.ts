import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeFileAtomic } from '../io/atomic.js';

/**
 * Embeddings on disk, one small file per clip, keyed by (model hash, sha256 of the clip's bytes):
 * a rerun with the same model skips every clip already embedded, whatever its path, and a changed
 * file or model is a miss. Each file is written atomically, so an interrupted run leaves only
 * complete entries.
 */
export class EmbeddingCache {
  readonly dir: string;

  constructor(
    root: string,
    readonly modelHash: string,
    readonly dim: number,
  ) {
    this.dir = join(root, modelHash.slice(0, 16));
  }

  private path(contentHash: string): string {
    return join(this.dir, contentHash.slice(0, 2), `${contentHash}.f32`);
  }

  get(contentHash: string): Float32Array | undefined {
    const p = this.path(contentHash);
    if (!existsSync(p)) return undefined;
    const bytes = readFileSync(p);
    // a wrong-sized entry (another dim, a foreign file) is a miss and gets rewritten
    if (bytes.byteLength !== this.dim * 4) return undefined;
    const out = new Float32Array(this.dim);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }

  put(contentHash: string, embedding: Float32Array): void {
    writeFileAtomic(this.path(contentHash), new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength));
  }
}
