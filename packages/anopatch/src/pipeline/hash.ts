import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { AnoPatchModel } from '../model/model.js';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function fileHash(path: string): string {
  return sha256Hex(readFileSync(path));
}

/**
 * Identity of a model for caching: its config and every tensor (name, shape, bytes), in name order.
 * Two models with equal hashes give equal embeddings.
 */
export async function modelHash(model: AnoPatchModel, extra: Record<string, unknown> = {}): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ config: model.config, extra }));
  const state = await model.state();
  for (const name of [...state.keys()].sort()) {
    const t = state.get(name)!;
    h.update(`${name}:${t.shape.join('x')};`);
    const d = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}
