/** Public API of @anopatch/dcase-synth: deterministic synthetic machine sounds in DCASE 2020 / 2023 layouts. */
export const packageName = '@anopatch/dcase-synth';

export { SynthConflictError, SynthOptionsError } from './errors.js';
export { hashSeed } from './dsp.js';
export {
  ANOMALY_KINDS,
  familyOf,
  machineVoice,
  NOMINAL,
  renderClip,
  SOUND_FAMILIES,
  TYPE_FAMILY,
  type Anomaly,
  type AnomalyKind,
  type Condition,
  type MachineVoice,
  type RenderOptions,
  type SoundFamily,
} from './models.js';
export {
  DCASE2020_TYPES,
  DCASE2023_DEV_TYPES,
  DCASE2023_EVAL_TYPES,
  planDataset,
  SYNTH_PRESETS,
  type ClipSpec,
  type Domain,
  type Edition,
  type Split,
  type SynthOptions,
  type SynthPreset,
} from './layout.js';
export { generateDataset, GENERATOR_VERSION, STATE_FILE, type GeneratedDataset, type GenerateOptions, type SynthState } from './generate.js';
