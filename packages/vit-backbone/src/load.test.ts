import { fileURLToPath } from 'node:url';

import { referencePath } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { BackboneConfigError, WeightShapeError } from './backbone.js';
import './index.js';
import { eatConfigFromFairseq, loadBackboneCheckpoint } from './load.js';
import type { Wav2Vec2Backbone } from './wav2vec2/model.js';

const R = fileURLToPath(new URL('../../../tooling/reference/backbones/', import.meta.url));

describe('loadBackboneCheckpoint', () => {
  it('builds Hugging Face models from their config.json and maps their tensors', () => {
    const ast = loadBackboneCheckpoint('ast', `${R}ast`);
    expect(ast.backbone.tokenDim).toBe(32);
    expect(ast.config).toMatchObject({ max_length: 60, hidden_size: 32 });
    expect(ast.unused).toEqual([]);
    const hubert = loadBackboneCheckpoint('hubert', `${R}hubert`);
    expect((hubert.backbone as Wav2Vec2Backbone).config.feat_extract_norm).toBe('group');
    expect(hubert.weights.size).toBe(hubert.backbone.paramSpecs().length);
  });

  it('builds BEATs from its cfg and other checkpoints without config from the id default', () => {
    const beats = loadBackboneCheckpoint('beats', referencePath('tiny_beats.pt'));
    expect(beats.backbone.tokenDim).toBe(64);
    expect(beats.config).toMatchObject({ encoder_layers: 2 });
    // a plain state dict brings no config: EAT-base is built and the first mis-shaped tensor is named
    expect(() => loadBackboneCheckpoint('eat', `${R}eat/tiny_eat.pt`)).toThrow(WeightShapeError);
    expect(() => loadBackboneCheckpoint('eat', `${R}eat/tiny_eat.pt`)).toThrow(/'modality_encoders.IMAGE.local_encoder.proj.weight' has shape \[32, 1, 16, 16\], the model expects \[768, 1, 16, 16\]/);
  });

  it('reads EAT fields from a fairseq cfg, nested or not', () => {
    const cfg = { model: { embed_dim: 32, depth: 2, num_heads: 4, layer_norm_first: false, modalities: { image: { target_length: 64, patch_size: 16 } }, ema_decay: 0.999 } };
    expect(eatConfigFromFairseq(cfg, 'e.pt')).toEqual({ embed_dim: 32, depth: 2, num_heads: 4, target_length: 64, patch_size: 16 });
    expect(eatConfigFromFairseq({ model: { w2v_args: cfg } }, 'e.pt')).toEqual({ embed_dim: 32, depth: 2, num_heads: 4, target_length: 64, patch_size: 16 });
    expect(() => eatConfigFromFairseq({ model: { layer_norm_first: true } }, 'e.pt')).toThrow(BackboneConfigError);
    expect(eatConfigFromFairseq({ task: {} }, 'e.pt')).toEqual({});
  });
});
