import type { Ops } from '@anopatch/runtime';

import { unfold } from './hf.js';

export interface SpectrogramPatchOptions<T> {
  /** Mel bins of the input (the image height). */
  melBins: number;
  /** The fixed number of frames the model takes (its position embeddings fix it). */
  frames: number;
  /** Square patch side. */
  patch: number;
  frequencyStride: number;
  timeStride: number;
  /** What a missing frame holds: the normalised value of a zero log-mel, as the official feature extractors pad. */
  padValue: number;
  /** [B, T] with 1 where the input is padding: those frames are set to `padValue`. */
  paddingMask?: T;
}

/**
 * The patches a Conv2d(1, D, patch, stride (fs, ts)) sees on the [mel, time] image of a normalised
 * fbank [B, T, mel] (AST and ImageBind put mel on the image's height): [B, F * T', patch * patch],
 * patch index f * T' + t (frequency-major, as their flatten(2) orders it), each patch (kf, kt).
 * Clips are first cut or padded to `frames` with `padValue`; overlapping windows are unfolded with
 * slices so the patch projection is one matMul whose weight gradient works on wasm.
 */
export function spectrogramPatches<T>(ops: Ops<T>, input: T, o: SpectrogramPatchOptions<T>): T {
  const { melBins: M, frames: L, patch: p } = o;
  const F = Math.floor((M - p) / o.frequencyStride) + 1;
  const Tp = Math.floor((L - p) / o.timeStride) + 1;
  const x = fitFrames(ops, input, L, M, o.padValue, o.paddingMask);
  let u = unfold(ops, x, p, o.timeStride, M); // [B, Tp, p*M]: (kt, mel)
  u = ops.transpose(ops.reshape(u, [0, Tp, p, M]), [0, 3, 1, 2]); // [B, M, Tp, kt]
  u = unfold(ops, ops.reshape(u, [0, M, Tp * p]), p, o.frequencyStride, Tp * p); // [B, F, p*Tp*p]: (kf, t, kt)
  u = ops.transpose(ops.reshape(u, [0, F, p, Tp, p]), [0, 1, 3, 2, 4]); // [B, F, Tp, kf, kt]
  return ops.reshape(u, [0, F * Tp, p * p]);
}

/**
 * A normalised fbank [B, T, mel] cut or padded to exactly `frames` frames with `padValue` (what the
 * official AST / ImageBind / EAT feature extraction does before normalising); frames the padding
 * mask marks take `padValue` too, so a clip in a padded batch sees what it sees alone.
 */
export function fitFrames<T>(ops: Ops<T>, input: T, frames: number, melBins: number, padValue: number, paddingMask?: T): T {
  let x = input;
  if (paddingMask !== undefined) {
    const m = ops.reshape(paddingMask, [0, -1, 1]);
    x = ops.add(ops.mul(x, ops.sub(ops.scalar(1), m)), ops.mul(m, ops.scalar(padValue)));
  }
  // append `frames` pad frames, keep the first `frames`
  const padBlock = ops.add(ops.mul(ops.slice(x, 1, 0, 1), ops.scalar(0)), ops.constant(new Float32Array(frames * melBins).fill(padValue), [1, frames, melBins]));
  return ops.slice(ops.concat([x, padBlock], 1), 1, 0, frames);
}
