import { BackboneConfigError } from '../backbone.js';

/** BEATs' model config: the `cfg` dict stored in every official checkpoint (BEATsConfig fields). */
export interface BeatsConfig {
  input_patch_size: number;
  embed_dim: number;
  conv_bias: boolean;
  encoder_layers: number;
  encoder_embed_dim: number;
  encoder_ffn_embed_dim: number;
  encoder_attention_heads: number;
  activation_fn: 'gelu' | 'relu';
  layer_wise_gradient_decay_ratio: number;
  layer_norm_first: boolean;
  deep_norm: boolean;
  dropout: number;
  attention_dropout: number;
  activation_dropout: number;
  encoder_layerdrop: number;
  dropout_input: number;
  conv_pos: number;
  conv_pos_groups: number;
  relative_position_embedding: boolean;
  num_buckets: number;
  max_distance: number;
  gru_rel_pos: boolean;
  finetuned_model: boolean;
  predictor_dropout?: number;
  predictor_class?: number;
}

/**
 * The published BEATs_iter3 (and iter3+) cfg: 12 layers, 768-d, 90M parameters. Used for
 * random-weight runs (speed, memory); a checkpoint's own cfg always wins when loading weights.
 */
export const BEATS_ITER3_CONFIG: Readonly<BeatsConfig> = Object.freeze({
  input_patch_size: 16,
  embed_dim: 512,
  conv_bias: false,
  encoder_layers: 12,
  encoder_embed_dim: 768,
  encoder_ffn_embed_dim: 3072,
  encoder_attention_heads: 12,
  activation_fn: 'gelu',
  layer_wise_gradient_decay_ratio: 0.6,
  layer_norm_first: false,
  deep_norm: true,
  dropout: 0.0,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  encoder_layerdrop: 0.05,
  dropout_input: 0.0,
  conv_pos: 128,
  conv_pos_groups: 16,
  relative_position_embedding: true,
  num_buckets: 320,
  max_distance: 800,
  gru_rel_pos: true,
  finetuned_model: false,
});

type FieldKind = 'int' | 'number' | 'bool' | 'activation';
const FIELDS: Record<keyof BeatsConfig, { kind: FieldKind; optional?: boolean }> = {
  input_patch_size: { kind: 'int' },
  embed_dim: { kind: 'int' },
  conv_bias: { kind: 'bool' },
  encoder_layers: { kind: 'int' },
  encoder_embed_dim: { kind: 'int' },
  encoder_ffn_embed_dim: { kind: 'int' },
  encoder_attention_heads: { kind: 'int' },
  activation_fn: { kind: 'activation' },
  layer_wise_gradient_decay_ratio: { kind: 'number' },
  layer_norm_first: { kind: 'bool' },
  deep_norm: { kind: 'bool' },
  dropout: { kind: 'number' },
  attention_dropout: { kind: 'number' },
  activation_dropout: { kind: 'number' },
  encoder_layerdrop: { kind: 'number' },
  dropout_input: { kind: 'number' },
  conv_pos: { kind: 'int' },
  conv_pos_groups: { kind: 'int' },
  relative_position_embedding: { kind: 'bool' },
  num_buckets: { kind: 'int' },
  max_distance: { kind: 'int' },
  gru_rel_pos: { kind: 'bool' },
  finetuned_model: { kind: 'bool' },
  // only read by the AudioSet classifier head, which some published cfgs omit
  predictor_dropout: { kind: 'number', optional: true },
  predictor_class: { kind: 'int', optional: true },
};

export interface ParsedBeatsConfig {
  config: BeatsConfig;
  /** Fields BEATsConfig does not know (kept out of the config, reported to the user). */
  unknown: string[];
}

/**
 * Read a checkpoint's `cfg` strictly: every field that shapes the model must be present and typed
 * right. Nothing falls back to BEATsConfig's class defaults: its deep_norm=false default silently
 * gives near-random embeddings with the real checkpoints.
 */
export function parseBeatsConfig(cfg: unknown, source = 'BEATs cfg'): ParsedBeatsConfig {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new BackboneConfigError(`${source}: cfg must be an object of BEATsConfig fields`);
  const raw = cfg as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const [name, { kind, optional }] of Object.entries(FIELDS)) {
    const v = raw[name];
    if (v === undefined || v === null) {
      if (!optional) missing.push(name);
      continue;
    }
    const ok =
      kind === 'bool'
        ? typeof v === 'boolean'
        : kind === 'int'
          ? typeof v === 'number' && Number.isInteger(v)
          : kind === 'number'
            ? typeof v === 'number' && Number.isFinite(v)
            : v === 'gelu' || v === 'relu';
    if (!ok) wrong.push(`${name}=${JSON.stringify(v)} (want ${kind === 'activation' ? "'gelu' or 'relu'" : kind})`);
    else out[name] = v;
  }
  if (missing.length) throw new BackboneConfigError(`${source}: missing BEATs config field(s) ${missing.join(', ')}`);
  if (wrong.length) throw new BackboneConfigError(`${source}: invalid BEATs config field(s) ${wrong.join('; ')}`);
  const config = out as unknown as BeatsConfig;
  validate(config, source);
  return { config, unknown: Object.keys(raw).filter((k) => !(k in FIELDS)).sort() };
}

function validate(c: BeatsConfig, source: string): void {
  const problems: string[] = [];
  if (c.input_patch_size <= 0 || 128 % c.input_patch_size !== 0) problems.push(`input_patch_size ${c.input_patch_size} must divide the 128 mel bins`);
  if (c.encoder_embed_dim % c.encoder_attention_heads !== 0) problems.push(`encoder_embed_dim ${c.encoder_embed_dim} is not divisible by ${c.encoder_attention_heads} heads`);
  if (c.encoder_embed_dim % c.conv_pos_groups !== 0) problems.push(`encoder_embed_dim ${c.encoder_embed_dim} is not divisible by conv_pos_groups ${c.conv_pos_groups}`);
  if (c.deep_norm && c.layer_norm_first) problems.push('deep_norm and layer_norm_first cannot both be true (the official model asserts this)');
  if (c.relative_position_embedding && (c.num_buckets < 4 || c.max_distance <= c.num_buckets / 4)) problems.push(`num_buckets ${c.num_buckets} / max_distance ${c.max_distance} are not a valid bucketing`);
  for (const k of ['encoder_layers', 'embed_dim', 'encoder_ffn_embed_dim', 'conv_pos'] as const) if (c[k] <= 0) problems.push(`${k} must be positive`);
  if (problems.length) throw new BackboneConfigError(`${source}: ${problems.join('; ')}`);
}
