/**
 * A [B, frames] padding mask (1 = padding) for clips of `lengths` frames padded to `frames`, the
 * form `ForwardOptions.paddingMask` takes for fbank backbones.
 */
export function paddingMaskFromLengths(lengths: readonly number[], frames: number): { data: Float32Array; shape: [number, number] } {
  const data = new Float32Array(lengths.length * frames);
  lengths.forEach((n, b) => {
    if (!Number.isInteger(n) || n < 0 || n > frames) throw new RangeError(`clip ${b} has ${n} frames, outside [0, ${frames}]`);
    data.fill(1, b * frames + n, (b + 1) * frames);
  });
  return { data, shape: [lengths.length, frames] };
}
