import { describe, expect, it } from 'vitest';

import { createBackbone, knownBackbones } from './index.js';
import { TINY_BACKBONE_CONFIGS } from './tiny.js';

describe('backbone front ends', () => {
  it('declares the fbank normalisation each backbone was pre-trained with, none for waveform backbones', () => {
    const declared = Object.fromEntries(
      knownBackbones().map((id) => {
        const b = createBackbone(id, TINY_BACKBONE_CONFIGS[id] ? { config: TINY_BACKBONE_CONFIGS[id] } : undefined);
        return [id, [b.frontEnd, b.fbankPreset]];
      }),
    );
    expect(declared).toEqual({
      ast: ['fbank', 'ast'],
      atst: ['waveform', null],
      beats: ['fbank', 'beats'],
      eat: ['fbank', 'ast'],
      hubert: ['waveform', null],
      imagebind: ['fbank', 'ast'],
      unispeech: ['waveform', null],
      wav2vec2: ['waveform', null],
      wavlm: ['waveform', null],
    });
  });
});
