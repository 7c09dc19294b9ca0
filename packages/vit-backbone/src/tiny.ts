/**
 * Tiny random-init configs of every registered backbone: the architectures of the published models at
 * a size that trains in seconds on wasm. They are the configs of the parity fixtures
 * (shared/fixtures/reference for BEATs, tooling/reference/backbones/* for the others) with dropout
 * and layer drop off, so short synthetic runs (`anopatch demo`, `anopatch-bench --synthetic`) are
 * deterministic. Not for real experiments: checkpoints bring their own configs.
 */

/** The reference fixtures' tiny BEATs cfg (2 layers, 64-d, 4 heads). */
export const TINY_BEATS_CONFIG = {
  input_patch_size: 16,
  embed_dim: 32,
  conv_bias: false,
  encoder_layers: 2,
  encoder_embed_dim: 64,
  encoder_ffn_embed_dim: 128,
  encoder_attention_heads: 4,
  activation_fn: 'gelu',
  layer_wise_gradient_decay_ratio: 1.0,
  layer_norm_first: false,
  deep_norm: true,
  dropout: 0.0,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  encoder_layerdrop: 0.0,
  dropout_input: 0.0,
  conv_pos: 16,
  conv_pos_groups: 4,
  relative_position_embedding: true,
  num_buckets: 320,
  max_distance: 800,
  gru_rel_pos: true,
  finetuned_model: false,
} as const;

const TINY_AST_CONFIG = {
  model_type: 'audio-spectrogram-transformer',
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  attention_probs_dropout_prob: 0.0,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  patch_size: 16,
  qkv_bias: true,
  frequency_stride: 10,
  time_stride: 10,
  max_length: 100,
  num_mel_bins: 128,
} as const;

const TINY_IMAGEBIND_CONFIG = { embed_dim: 32, num_blocks: 2, num_heads: 4, kernel_size: 16, stride: 10, num_mel_bins: 128, target_len: 100, drop_path: 0.0 } as const;

const TINY_EAT_CONFIG = { embed_dim: 32, depth: 2, num_heads: 4, mlp_ratio: 4, patch_size: 16, num_mel_bins: 128, target_length: 96, norm_eps: 1e-6 } as const;

const TINY_ATST_CONFIG = { embed_dim: 32, depth: 2, num_heads: 4, mlp_ratio: 4, patch_h: 64, patch_w: 4, spec_w: 101, drop_path_rate: 0.0 } as const;

/** wav2vec 2.0 family, Hugging Face config.json fields (large-style stable layer norm for wav2vec2/unispeech/wavlm, base-style for HuBERT as its fixture). */
function tinySpeechConfig(modelType: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: modelType,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    hidden_act: 'gelu',
    hidden_dropout: 0.0,
    activation_dropout: 0.0,
    attention_dropout: 0.0,
    feat_proj_dropout: 0.0,
    layerdrop: 0.0,
    layer_norm_eps: 1e-5,
    feat_extract_activation: 'gelu',
    conv_dim: [16, 16, 16, 16, 16, 16, 16],
    conv_stride: [5, 2, 2, 2, 2, 2, 2],
    conv_kernel: [10, 3, 3, 3, 3, 2, 2],
    num_conv_pos_embeddings: 16,
    num_conv_pos_embedding_groups: 4,
    feat_extract_norm: 'layer',
    conv_bias: true,
    do_stable_layer_norm: true,
    ...extra,
  };
}

/** Tiny random-init config per registered backbone id (pass as `createBackbone(id, { config })`). */
export const TINY_BACKBONE_CONFIGS: Readonly<Record<string, Record<string, unknown>>> = Object.freeze({
  beats: TINY_BEATS_CONFIG,
  ast: TINY_AST_CONFIG,
  imagebind: TINY_IMAGEBIND_CONFIG,
  eat: TINY_EAT_CONFIG,
  atst: TINY_ATST_CONFIG,
  wav2vec2: tinySpeechConfig('wav2vec2'),
  hubert: tinySpeechConfig('hubert', { feat_extract_norm: 'group', conv_bias: false, do_stable_layer_norm: false, feat_proj_layer_norm: true }),
  unispeech: tinySpeechConfig('unispeech'),
  wavlm: tinySpeechConfig('wavlm', { num_buckets: 16, max_bucket_distance: 20 }),
});
