#!/usr/bin/env python3
"""torchaudio's figure for the fbank speed case of `anopatch-bench speed` (BEATs front end: waveform * 2^15,
kaldi.fbank 128 mel 25/10 ms, then (f - 15.41663) / (2 * 6.55582)), on the machine it runs on.

Same protocol as measureFbank() in @anopatch/audio-features: 10 s 16 kHz tone-plus-noise clips, one warm-up,
median of 7 single-clip runs, then throughput over 100 clips (8 distinct clips reused). torch threads = 2.
Also records the 1-thread figure: on a loaded 2-core machine torch's 2 OpenMP threads can be several times
slower than one.
Run: /usr/bin/python3 tooling/reference/audio/fbank_speed.py  -> prints JSON and writes fbank_speed.json here.
"""
import json
import os
import platform
import statistics
import time

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

rng = np.random.default_rng(1234)
n = 160000


def make_clip():
    f = 100 + 900 * rng.random()
    t = np.arange(n)
    return torch.from_numpy((0.3 * np.sin(2 * np.pi * f * t / 16000) + 0.05 * rng.standard_normal(n)).astype(np.float32))[None]


def beats_fbank(wave):
    fb = kaldi.fbank(wave * 2 ** 15, num_mel_bins=128, sample_frequency=16000, frame_length=25, frame_shift=10)
    return (fb - 15.41663) / (2 * 6.55582)


pool = [make_clip() for _ in range(8)]


def measure(threads):
    torch.set_num_threads(threads)
    with torch.inference_mode():
        frames = beats_fbank(pool[0]).shape[0]
        times = []
        for r in range(7):
            t0 = time.perf_counter()
            beats_fbank(pool[r % 8])
            times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        for c in range(100):
            beats_fbank(pool[c % 8])
        total = (time.perf_counter() - t0) * 1000
    return dict(threads=threads, framesPerClip=frames, singleClipMs=statistics.median(times), clips=100, totalMs=total, clipsPerSecond=100 / (total / 1000))


runs = [measure(2), measure(1)]
result = dict(
    engine='torchaudio.compliance.kaldi.fbank',
    versions=dict(torch=torch.__version__, torchaudio=torchaudio.__version__, python=platform.python_version()),
    machine=dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(), loadavg=list(os.getloadavg())),
    preset='beats',
    clipSeconds=10,
    **runs[0],
    oneThread=runs[1],
)
print(json.dumps(result, indent=2))
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fbank_speed.json'), 'w') as f:
    json.dump(result, f, indent=2)
    f.write('\n')
