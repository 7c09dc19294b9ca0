import { join } from 'node:path';

import { writeSafetensors } from '@anopatch/checkpoint';
import { referencePath } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { captureOutput, tempDir } from '../__tests__/support.js';
import { EXIT } from '../errors.js';
import { main } from '../program.js';

const dir = tempDir('anopatch-inspect-');

const io = captureOutput();

describe('anopatch inspect', () => {
  it('prints format, counts, dtypes, names with shapes and the BEATs cfg', async () => {
    expect(await main(['inspect', referencePath('tiny_beats.pt'), '-n', '3'])).toBe(EXIT.ok);
    expect(io.stdout.join('')).toMatch(/format\s+torch-zip \(state dict at 'model'\)/);
    expect(io.stdout.join('')).toMatch(/tensors\s+50\n/);
    expect(io.stdout.join('')).toMatch(/first 3 of 50 tensors:\n {2}post_extract_proj\.weight\s+float32\s+\[64, 32\]\n {2}post_extract_proj\.bias\s+float32\s+\[64\]\n {2}patch_embedding\.weight\s+float32\s+\[32, 1, 16, 16\]\n/);
    expect(io.stdout.join('')).toContain('"encoder_layers": 2');
  });

  it('--json gives the parameter count and meta as data', async () => {
    expect(await main(['inspect', referencePath('tiny_beats.pt'), '--json', '-n', '0'])).toBe(EXIT.ok);
    const s = JSON.parse(io.stdout.join('')) as { parameters: number; tensors: number; dtypes: Record<string, { tensors: number }>; names: unknown[]; meta: { cfg: { encoder_embed_dim: number } } };
    expect(s.tensors).toBe(50);
    expect(s.dtypes).toEqual({ float32: { tensors: 50, parameters: 96744 } });
    expect(s.names).toEqual([]);
    expect(s.meta.cfg.encoder_embed_dim).toBe(64);
    // sum of the reference shapes (beats_params/names.json, without the derived tensor)
    expect(s.parameters).toBe(96744);
  });

  it('reads our safetensors checkpoints and their metadata', async () => {
    const path = join(dir, 'm.safetensors');
    writeSafetensors(path, { 'head.w': { dtype: 'float32', shape: [2, 3], data: new Float32Array(6) }, step: { dtype: 'int64', shape: [], data: new BigInt64Array(1) } }, { backbone: 'beats' });
    expect(await main(['inspect', path])).toBe(EXIT.ok);
    expect(io.stdout.join('')).toMatch(/format\s+safetensors\n/);
    expect(io.stdout.join('')).toMatch(/parameters\s+7\n/);
    expect(io.stdout.join('')).toContain('"backbone": "beats"');
  });

  it('shows a Lightning checkpoint\'s meta and honours --state-dict', async () => {
    const ckpt = join(import.meta.dirname, '..', '..', '..', '..', 'tooling', 'reference', 'checkpoint', 'out', 'lightning.ckpt');
    expect(await main(['inspect', ckpt, '--meta-lines', '3'])).toBe(EXIT.ok);
    expect(io.stdout.join('')).toMatch(/format\s+torch-zip \(state dict at 'state_dict'\)/);
    expect(io.stdout.join('')).toMatch(/tensors\s+5\n/);
    expect(io.stdout.join('')).toMatch(/meta:\n {2}\{\n {4}"epoch": 3,\n {4}"global_step": 120,\n {2}\.\.\. \d+ more lines/);
    io.stdout.length = 0;
    expect(await main(['inspect', ckpt, '--state-dict', 'optimizer_states.0.state.0', '--json'])).toBe(EXIT.ok);
    const s = JSON.parse(io.stdout.join('')) as { tensors: number; names: { name: string }[] };
    expect(s.names.map((n) => n.name)).toEqual(['step', 'exp_avg']);
    expect(await main(['inspect', ckpt, '--names', 'x'])).toBe(EXIT.usage);
  });

  it('fails with one line for a non-checkpoint', async () => {
    expect(await main(['inspect', referencePath('clip_a.wav')])).toBe(EXIT.failure);
    expect(io.stderr.join('')).toMatch(/^anopatch: UnknownCheckpointFormatError: .*clip_a\.wav: not a PyTorch zip checkpoint nor a safetensors file/);
    expect(io.stderr.join('').trim().split('\n')).toHaveLength(1);
  });
});
