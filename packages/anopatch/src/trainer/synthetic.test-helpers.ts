import { Rng } from '@anopatch/audio-features';
import { loadReferenceJson, loadReferenceNpy, referencePath } from '@anopatch/test-fixtures';
import type { TensorData } from '@anopatch/runtime';
import { loadBeatsCheckpoint } from '@anopatch/vit-backbone';

import { AnoPatchModel } from '../model/model.js';
import type { FbankTrainClip } from './data.js';

/**
 * Generated normalised fbanks for `numClasses` classes: noise plus a class-specific mel band whose
 * level pulses at a class-specific rate (a stand-in for machine types/IDs that needs no audio I/O).
 */
export function syntheticClips(numClasses: number, perClass: number, frames: number, seed: number): FbankTrainClip[] {
  const rng = new Rng(seed);
  const bins = 128;
  const clips: FbankTrainClip[] = [];
  for (let k = 0; k < numClasses; k++) {
    for (let n = 0; n < perClass; n++) {
      const len = frames + rng.int(Math.max(1, frames >> 1)) - (frames >> 2);
      const data = new Float32Array(len * bins);
      const centre = 12 + Math.floor(((bins - 24) * k) / Math.max(1, numClasses - 1));
      const period = 6 + 5 * k;
      const phase = rng.next() * period;
      for (let t = 0; t < len; t++) {
        const pulse = 0.6 + 0.4 * Math.sin((2 * Math.PI * (t + phase)) / period);
        for (let f = 0; f < bins; f++) {
          const band = Math.exp(-0.5 * ((f - centre) / 4) ** 2);
          data[t * bins + f] = 0.3 * rng.normal() + 1.5 * band * pulse - 0.2;
        }
      }
      clips.push({ fbank: { data, frames: len, bins }, label: k });
    }
  }
  return clips;
}

/** The tiny BEATs of the reference fixtures (pre-trained weights = the fixture's) + a fresh head. */
export function tinyModel(options: { embedDim?: number; attentionChannels?: number; seed?: number; fixtureHead?: boolean } = {}): AnoPatchModel {
  const beats = loadBeatsCheckpoint(referencePath('tiny_beats.pt'));
  let headWeights: Map<string, TensorData> | undefined;
  if (options.fixtureHead) {
    const names = loadReferenceJson<{ name: string; shape: number[]; dtype: string }[]>('head/names.json');
    headWeights = new Map(
      names.filter((n) => n.dtype === 'float32').map((n) => [n.name, { shape: n.shape, data: loadReferenceNpy(`head/${n.name}.npy`).data as Float32Array }]),
    );
  }
  return AnoPatchModel.create(
    { backbone: 'beats', backboneOptions: { config: beats.backbone.config }, attentionChannels: options.attentionChannels ?? 32, embedDim: options.embedDim ?? 16 },
    { backboneInstance: beats.backbone, backboneWeights: beats.weights, ...(headWeights ? { headWeights } : {}), seed: options.seed ?? 0 },
  );
}
