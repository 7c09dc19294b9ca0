import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { readNpy } from '@anopatch/checkpoint';
import { loadReferenceNpy, referencePath, relToMax } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { captureOutput, tempDir } from '../__tests__/support.js';
import { EXIT } from '../errors.js';
import { main } from '../program.js';

const dir = tempDir('anopatch-tokens-');

const io = captureOutput();

describe('anopatch tokens', () => {
  it('writes the official model\'s tokens of clip_a from the wav (within 1e-3 x max|ref|), every layer with --all-layers', async () => {
    const out = join(dir, 'a');
    const args = ['tokens', '--backbone', 'beats', '--weights', referencePath('tiny_beats.pt'), referencePath('clip_a.wav'), '--out', out, '--all-layers'];
    expect(await main(args)).toBe(EXIT.ok);
    for (const name of ['final', 'layer_0', 'layer_1']) {
      const got = readNpy(readFileSync(join(out, `${name}.npy`)));
      expect(got.dtype).toBe('float32');
      expect(got.shape).toEqual([96, 64]);
      expect(relToMax(got.data as Float32Array, loadReferenceNpy(`clip_a.${name}.npy`).data as Float32Array)).toBeLessThanOrEqual(1e-3);
    }
    // existing outputs are kept unless --force
    expect(await main(args)).toBe(EXIT.failure);
    expect(io.stderr.join('')).toMatch(/TokensOutputExistsError: .*final\.npy.*already exist.*--force/);
    expect(await main([...args, '--force'])).toBe(EXIT.ok);
  });

  it('an unknown backbone fails with one line listing the known ones', async () => {
    const args = ['tokens', '--backbone', 'nope', '--weights', referencePath('tiny_beats.pt'), referencePath('clip_a.wav'), '--out', join(dir, 'x')];
    expect(await main(args)).toBe(EXIT.failure);
    expect(io.stderr.join('')).toMatch(/^anopatch: UnknownBackboneError: unknown backbone 'nope'; known backbones: .*beats.*\n$/);
  });
});
