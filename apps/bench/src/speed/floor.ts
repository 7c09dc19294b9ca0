/**
 * The arithmetic floor of BEATs inference: multiply-adds counted from the config (x2 = FLOP), so a
 * measured clips/s can be read against what the cores could do at their matmul peak.
 */
export interface BeatsShape {
  embedDim: number; // patch embedding channels (512 in iter3)
  encoderEmbedDim: number; // 768
  encoderFfnEmbedDim: number; // 3072
  encoderLayers: number; // 12
  convPos: number; // 128
  convPosGroups: number; // 16
  patchSize: number; // 16
  melBins: number; // 128
}

export const BEATS_ITER3_SHAPE: BeatsShape = {
  embedDim: 512,
  encoderEmbedDim: 768,
  encoderFfnEmbedDim: 3072,
  encoderLayers: 12,
  convPos: 128,
  convPosGroups: 16,
  patchSize: 16,
  melBins: 128,
};

/** fbank frames of a clip (Kaldi, 25 ms / 10 ms, snip_edges) */
export function fbankFrames(seconds: number, sampleRate = 16000): number {
  const n = Math.round(seconds * sampleRate);
  return n < 400 ? 0 : 1 + Math.floor((n - 400) / 160);
}

/** FLOP of one BEATs forward pass over `frames` fbank frames (matmul-like work only; norms and softmax are O(P*C)). */
export function beatsFlops(shape: BeatsShape, frames: number): number {
  const p = shape.patchSize;
  const patches = Math.floor(frames / p) * Math.floor(shape.melBins / p);
  const d = shape.encoderEmbedDim;
  const patchEmbed = patches * p * p * shape.embedDim;
  const postProj = patches * shape.embedDim * d;
  const posConv = patches * d * (d / shape.convPosGroups) * shape.convPos;
  const perLayer = 4 * patches * d * d + 2 * patches * patches * d + 2 * patches * d * shape.encoderFfnEmbedDim;
  return 2 * (patchEmbed + postProj + posConv + shape.encoderLayers * perLayer);
}
