/** Public API of @anopatch/vit-backbone. */
import { BackboneConfigError, registerBackbone } from './backbone.js';
import { BEATS_ITER3_CONFIG, parseBeatsConfig } from './beats/config.js';
import { BeatsBackbone } from './beats/model.js';
import { AstBackbone, parseAstConfig } from './ast/model.js';
import { AtstFrameBackbone, parseAtstConfig } from './atst/model.js';
import { EatBackbone, parseEatConfig } from './eat/model.js';
import { ImageBindAudioBackbone, parseImageBindAudioConfig } from './imagebind/model.js';
import { parseWav2Vec2Config, WAV2VEC2_LARGE_CONFIG, Wav2Vec2Backbone, type Wav2Vec2Family } from './wav2vec2/model.js';

export const packageName = '@anopatch/vit-backbone';

export {
  BackboneConfigError,
  createBackbone,
  knownBackbones,
  MissingWeightError,
  registerBackbone,
  UnknownBackboneError,
  WeightDtypeError,
  weightAsFloat32,
  WeightShapeError,
  type Backbone,
  type BackboneFactory,
  type ForwardOptions,
  type FrontEnd,
  type LoadedWeights,
  type Tap,
  type WeightRecord,
} from './backbone.js';
export { BEATS_ITER3_CONFIG, parseBeatsConfig, type BeatsConfig, type ParsedBeatsConfig } from './beats/config.js';
export { BEATS_MEL_BINS, BeatsBackbone, beatsDistanceBuckets, beatsRelativeBuckets } from './beats/model.js';
export { loadBeatsCheckpoint, type LoadedBeats } from './beats/checkpoint.js';
export { paddingMaskFromLengths } from './padding.js';
export { TINY_BACKBONE_CONFIGS, TINY_BEATS_CONFIG } from './tiny.js';
export { eatConfigFromFairseq, loadBackboneCheckpoint, type LoadedBackbone } from './load.js';
export { AST_PAD_VALUE, AstBackbone, parseAstConfig, type AstConfig } from './ast/model.js';
export { IMAGEBIND_PAD_VALUE, ImageBindAudioBackbone, parseImageBindAudioConfig, type ImageBindAudioConfig } from './imagebind/model.js';
export { fitFrames, spectrogramPatches, type SpectrogramPatchOptions } from './common/patches.js';
export { ATST_MEL, AtstFrameBackbone, atstMelFilterbank, parseAtstConfig, type AtstConfig } from './atst/model.js';
export { EAT_PAD_VALUE, EatBackbone, eatPositions, parseEatConfig, type EatConfig } from './eat/model.js';
export { parseWav2Vec2Config, WAV2VEC2_LARGE_CONFIG, Wav2Vec2Backbone, type Wav2Vec2Config, type Wav2Vec2Family } from './wav2vec2/model.js';
export { readHfConfig, loadHfWeights, unfold, stridedConv1d, type HfField, type HfFieldKind } from './common/hf.js';

/**
 * `createBackbone('beats', { config })`: `config` is a BEATs cfg dict (parsed strictly) or omitted
 * for the published BEATs_iter3 architecture (random-weight runs; checkpoints bring their own cfg).
 */
registerBackbone('beats', (options) => {
  const cfg = options?.config;
  if (cfg === undefined) return new BeatsBackbone(BEATS_ITER3_CONFIG);
  if (typeof cfg !== 'object' || cfg === null) throw new BackboneConfigError("createBackbone('beats'): options.config must be a BEATs cfg object");
  return new BeatsBackbone(parseBeatsConfig(cfg).config);
});

/** `createBackbone('ast', { config, padValue })`: `config` is an AST config.json object (omitted: the AudioSet AST). */
registerBackbone('ast', (options) => new AstBackbone(parseAstConfig(options?.config ?? {}, "createBackbone('ast')"), { padValue: options?.padValue as number | undefined }));

/**
 * `createBackbone('wav2vec2' | 'hubert' | 'unispeech' | 'wavlm', { config })`: `config` is the model's config.json
 * object; omitted, the large variant of Table 3 (24 x 1024, 315M parameters) with random weights.
 */
for (const id of ['wav2vec2', 'hubert', 'unispeech', 'wavlm'] as Wav2Vec2Family[]) {
  registerBackbone(id, (options) => new Wav2Vec2Backbone(id, parseWav2Vec2Config(options?.config ?? WAV2VEC2_LARGE_CONFIG, `createBackbone('${id}')`)));
}

/** `createBackbone('imagebind', { config, padValue })`: `config` holds the audio branch's ImageBindModel arguments (omitted: imagebind_huge). */
registerBackbone('imagebind', (options) => new ImageBindAudioBackbone(parseImageBindAudioConfig(options?.config ?? {}, "createBackbone('imagebind')"), { padValue: options?.padValue as number | undefined }));

/** `createBackbone('eat', { config, padValue })`: `config` holds EAT's encoder hyper-parameters (omitted: EAT-base). */
registerBackbone('eat', (options) => new EatBackbone(parseEatConfig(options?.config ?? {}, "createBackbone('eat')"), { padValue: options?.padValue as number | undefined }));

/** `createBackbone('atst', { config })`: ATST-Frame, waveform in (mel front end in the graph); `config` holds FrameAST's arguments (omitted: the base model). */
registerBackbone('atst', (options) => new AtstFrameBackbone(parseAtstConfig(options?.config ?? {}, "createBackbone('atst')")));
