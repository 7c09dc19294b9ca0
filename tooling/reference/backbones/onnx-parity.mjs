// Lowers each tiny reference backbone to ONNX (packages/onnx-engine), runs it in ONNX Runtime and
// compares the tokens with the TF.js lowering: a check that the model code keeps to the op rules
// (dynamic batch / time axes). Needs the packages built (pnpm turbo run build). Run from the repo root:
//   node tooling/reference/backbones/onnx-parity.mjs
import { readFileSync } from 'node:fs';
const vb = await import(new URL('../../../packages/vit-backbone/dist/index.js', import.meta.url).href);
const ox = await import(new URL('../../../packages/onnx-engine/dist/index.js', import.meta.url).href);
const ck = await import(new URL('../../../packages/checkpoint/dist/index.js', import.meta.url).href);
const rt = await import(new URL('../../../packages/runtime/dist/index.js', import.meta.url).href);
const { createRequire } = await import('node:module');
// tfjs-core's ESM build needs a loader hook in plain Node; its CommonJS build does not
const tf = createRequire(new URL('../../../packages/vit-backbone/package.json', import.meta.url))('@tensorflow/tfjs-core');
await rt.initBackend({ prefer: 'wasm', env: {} });
const R = new URL('.', import.meta.url).pathname;
const npy = (p) => ck.readNpy(readFileSync(p));
const cases = [
  { id: 'ast', ck: R + 'ast', input: R + 'ast/short.fbank.npy', dyn: ['batch', 'frames', 128] },
  { id: 'imagebind', ck: R + 'imagebind/tiny_imagebind.pt', cfg: R + 'imagebind/config.json', input: R + 'imagebind/long.fbank.npy', dyn: ['batch', 'frames', 128] },
  { id: 'eat', ck: R + 'eat/tiny_eat.pt', cfg: R + 'eat/config.json', input: R + 'eat/short.fbank.npy', dyn: ['batch', 'frames', 128] },
  { id: 'wav2vec2', ck: R + 'wav2vec2', input: R + 'wav2vec2/clip_b.wave.npy', dyn: ['batch', 'samples'] },
  { id: 'hubert', ck: R + 'hubert', input: R + 'hubert/clip_a.wave.npy', dyn: ['batch', 'samples'] },
  { id: 'wavlm', ck: R + 'wavlm', input: R + 'wavlm/clip_b.wave.npy', dyn: ['batch', 'samples'] },
  { id: 'atst', ck: R + 'atst/tiny_atst.pt', cfg: R + 'atst/config.json', input: R + 'atst/clip_b.wave.npy', dyn: ['batch', 'samples'] },
];
for (const c of cases) {
  const ckpt = ck.readTorchCheckpoint(c.ck);
  const config = c.cfg ? JSON.parse(readFileSync(c.cfg, 'utf8')) : ckpt.meta.config;
  const b = vb.createBackbone(c.id, { config });
  const { weights } = b.loadWeights(ckpt.tensors);
  const x = npy(c.input);
  const shape = [1, ...x.shape];
  const data = Float32Array.from(x.data);
  const ops = new rt.TfOps(rt.createTfParams(b.paramSpecs(), { loaded: weights, trainable: false }));
  const ref = tf.tidy(() => b.forward(ops, tf.tensor(data, shape), { training: false }).dataSync());
  try {
    const builder = ox.buildOnnxModel({ weights, inputs: [{ name: 'x', shape: c.dyn }], forward: (o, xs) => ({ tokens: b.forward(o, xs[0], { training: false }) }) });
    const session = await ox.OnnxSession.create(builder.toBytes(), { threads: 1, executionProviders: ['cpu'] });
    const out = await session.run({ x: { shape, data } });
    let m = 0;
    let d = 0;
    for (let i = 0; i < ref.length; i++) { m = Math.max(m, Math.abs(ref[i])); d = Math.max(d, Math.abs(ref[i] - out.tokens.data[i])); }
    console.log(c.id, 'onnx vs tfjs rel', (d / m).toExponential(2), 'len', ref.length, out.tokens.data.length, out.tokens.shape);
    await session.release();
  } catch (e) { console.log(c.id, 'ONNX FAILED', e.message.slice(0, 300)); }
}
