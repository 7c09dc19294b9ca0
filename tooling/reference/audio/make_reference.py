#!/usr/bin/env python3
"""torchaudio reference outputs for the option paths of kaldi.fbank and for resample ratios that the shared
fixtures do not cover. Writes options_reference.json beside this script; @anopatch/audio-features tests read it.

Run: /usr/bin/python3 tooling/reference/audio/make_reference.py [path/to/shared/fixtures/reference]
(Debian python3-torch 1.13 / python3-torchaudio 0.13.1, CPU.)
"""
import json
import os
import sys

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

here = os.path.dirname(os.path.abspath(__file__))
fixtures = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..', '..', '..', 'shared', 'fixtures', 'reference')

wave, sr = torchaudio.load(os.path.join(fixtures, 'clip_a.wav'))  # int16 / 32768, float32
assert sr == 16000
# 4000 samples keep the file small; float64 so the reference carries no float32 FFT noise
x = wave[:, :4000].double()

configs = {
    'torchaudio_defaults_scaled': dict(scale=32768.0, kwargs=dict()),
    'ast': dict(scale=1.0, kwargs=dict(htk_compat=True, sample_frequency=16000, use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)),
    'no_snip_edges': dict(scale=32768.0, kwargs=dict(snip_edges=False, num_mel_bins=40)),
    'energy_windowed_no_floor': dict(scale=32768.0, kwargs=dict(use_energy=True, raw_energy=False, energy_floor=0.0)),
    'energy_htk': dict(scale=32768.0, kwargs=dict(use_energy=True, htk_compat=True)),
    'no_pow2': dict(scale=32768.0, kwargs=dict(round_to_power_of_two=False, num_mel_bins=40)),
    'hamming_no_preemph_no_dc': dict(scale=32768.0, kwargs=dict(window_type='hamming', preemphasis_coefficient=0.0, remove_dc_offset=False)),
    'blackman': dict(scale=32768.0, kwargs=dict(window_type='blackman', blackman_coeff=0.42)),
    'rectangular_magnitude_linear': dict(scale=1.0, kwargs=dict(window_type='rectangular', use_power=False, use_log_fbank=False)),
    'subtract_mean': dict(scale=32768.0, kwargs=dict(subtract_mean=True)),
    'vtln': dict(scale=32768.0, kwargs=dict(vtln_warp=0.9, low_freq=50.0, high_freq=-400.0, num_mel_bins=30)),
    'frame_20_5': dict(scale=32768.0, kwargs=dict(frame_length=20.0, frame_shift=5.0, num_mel_bins=40)),
}

fbank = {}
for name, c in configs.items():
    out = kaldi.fbank(x * c['scale'], **c['kwargs'])
    fbank[name] = dict(scale=c['scale'], kwargs=c['kwargs'], shape=list(out.shape), data=[float(v) for v in out.flatten().numpy()])

rng = np.random.default_rng(7)
n = 2000
t = np.arange(n)
sig = (0.4 * np.sin(2 * np.pi * (200 + 3 * t) * t / 48000) + 0.1 * rng.standard_normal(n)).astype(np.float32)
resample_cases = {}
for name, (orig, new, kw) in {
    '48000_16000': (48000, 16000, {}),
    '22050_16000': (22050, 16000, {}),
    '8000_16000': (8000, 16000, {}),
    '16000_44100': (16000, 44100, {}),
    '44100_16000_kaiser': (44100, 16000, dict(resampling_method='kaiser_window')),
    '32000_16000_width16_rolloff0.9': (32000, 16000, dict(lowpass_filter_width=16, rolloff=0.9)),
}.items():
    y = torchaudio.functional.resample(torch.from_numpy(sig)[None], orig, new, **kw)[0]
    resample_cases[name] = dict(orig=orig, new=new, kwargs=kw, data=[float(v) for v in y.numpy()])

out = dict(
    generator='tooling/reference/audio/make_reference.py',
    versions=dict(torch=torch.__version__, torchaudio=torchaudio.__version__, numpy=np.__version__),
    fbank_input='clip_a.wav samples 0..3999 as float64 (int16/32768), multiplied by `scale` before kaldi.fbank(**kwargs)',
    fbank=fbank,
    resample_input=[float(v) for v in sig],
    resample=resample_cases,
)
with open(os.path.join(here, 'options_reference.json'), 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print('wrote', os.path.join(here, 'options_reference.json'))
