export {
  ARCFACE_DEFAULTS,
  ArcFaceConfigError,
  ArcFaceHead,
  arcFace,
  arcFaceLoss,
  cosineLogits,
  l2NormalizeRows,
  marginCosine,
  type ArcFaceHeadConfig,
  type ArcFaceOptions,
  type ArcFaceOutputs,
  type ArcFaceVariant,
} from './arcface.js';
export { SubClusterAdaCos, type SubClusterAdaCosConfig } from './adacos.js';
