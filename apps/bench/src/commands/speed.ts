import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command } from 'commander';

import { BenchUsageError } from '../protocol/errors.js';
import { BACKBONE_FRAMES_10S, measureBackboneSpeed, measurePytorchReference } from '../speed/backbone.js';
import { BEATS_ITER3_SHAPE, beatsFlops } from '../speed/floor.js';
import { measureKnn } from '../speed/knn.js';
import { measureTfjsMatmul } from '../speed/matmul.js';
import { arithmeticFloor, formatSpeedReport, type FloorLine, type SpeedRow } from '../speed/report.js';

/** The repository root (src/commands or dist/commands, four levels up). */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../speed/checkpoint-child.js', import.meta.url));

export interface SpeedOptions {
  /** batch sizes of the backbone embedding case (default 1 and 8) */
  batches?: number[];
  /** timed runs per backbone batch size (default 2) */
  iterations?: number;
  /** untimed warm-up runs per backbone batch size (default 1) */
  warmup?: number;
  /** KNN bank sizes (default 1 000 and 10 000) */
  knnSizes?: number[];
  /** checkpoint to time loading (default a synthetic BEATs-size torch checkpoint) */
  weights?: string;
  /** folder with the official BEATs.py for the PyTorch reference (needs python3-torch) */
  beatsDir?: string;
  python?: string;
  /** an ONNX file of the official BEATs exported by tooling/reference/onnx/export_official_beats.py, timed beside ours */
  officialOnnx?: string;
  /** skip the ONNX Runtime case */
  skipOnnx?: boolean;
  /** skip the full-size training step (it takes a minute or more on wasm) */
  skipTrain?: boolean;
  /** fbank frames of the training-step clip (default 998 = 10 s) */
  trainFrames?: number;
  log?: (line: string) => void;
}

export interface SpeedResult {
  text: string;
  rows: SpeedRow[];
  floor: FloorLine | null;
  json: Record<string, unknown>;
}

const rssMiB = (): number => process.resourceUsage().maxRSS / 1024;

/** Whether Debian's python3-torch is importable by `python`. */
export function torchAvailable(python = '/usr/bin/python3'): string | null {
  if (!existsSync(python)) return null;
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** `anopatch-bench speed`: fbank, backbone embedding, training step, KNN scoring, checkpoint loading. */
export async function runSpeed(o: SpeedOptions = {}): Promise<SpeedResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const python = o.python ?? '/usr/bin/python3';
  const { initBackend } = await import('@anopatch/runtime');
  const backend = await initBackend();
  const torch = torchAvailable(python);
  const rows: SpeedRow[] = [];
  const notes: string[] = [];
  const json: Record<string, unknown> = { backend: backend.name, threads: backend.threads, torch };

  // fbank
  log('fbank: 10 s clips, BEATs preset');
  const { measureFbank } = await import('@anopatch/audio-features');
  const fb = measureFbank({ seconds: 10, clips: 50 });
  const fbRow: SpeedRow = { section: 'fbank', case: '10 s clip, 128 mel (BEATs preset)', ours: fb.clipsPerSecond, unit: 'clips/s', peakRssMiB: rssMiB(), note: `${fb.singleClipMs.toFixed(1)} ms single clip` };
  const fbScript = join(REPO, 'tooling/reference/audio/fbank_speed.py');
  if (torch && existsSync(fbScript)) {
    // the script writes its JSON beside itself: run a copy so the committed figure stays untouched
    const dir = mkdtempSync(join(tmpdir(), 'anopatch-fbank-'));
    try {
      copyFileSync(fbScript, join(dir, 'fbank_speed.py'));
      log('fbank: torchaudio reference');
      const out = execFileSync(python, [join(dir, 'fbank_speed.py')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      const ref = JSON.parse(out) as { clipsPerSecond: number };
      Object.assign(fbRow, { reference: ref.clipsPerSecond, referenceSource: 'live' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const ref = readJson<{ clipsPerSecond: number; machine?: { loadavg?: number[] } }>(join(REPO, 'tooling/reference/audio/fbank_speed.json'));
    if (ref) Object.assign(fbRow, { reference: ref.clipsPerSecond, referenceSource: 'committed run' });
  }
  rows.push(fbRow);
  json.fbank = fb;

  // matmul peak -> arithmetic floor
  log('matmul: TF.js peak GFLOP/s');
  const mm = await measureTfjsMatmul(1024, 5);
  const floor = arithmeticFloor(beatsFlops(BEATS_ITER3_SHAPE, BACKBONE_FRAMES_10S), mm.gflops, mm.backend);
  rows.push({ section: 'matmul', case: `${mm.size}x${mm.size} float32 (TF.js ${mm.backend})`, ours: mm.gflops, unit: 'GFLOP/s', peakRssMiB: rssMiB() });
  json.matmul = mm;

  // backbone embedding, full-size BEATs
  const batches = o.batches ?? [1, 8];
  log(`backbone: full-size BEATs (iter3 cfg, random init), 10 s fbank, batch ${batches.join(' and ')}, one TF.js backend per core`);
  const bb = await measureBackboneSpeed({
    batches,
    iterations: o.iterations ?? 2,
    warmup: o.warmup ?? 1,
    workers: 'cores',
    onProgress: (b, i, s) => log(`  batch ${b} run ${i + 1}: ${s.toFixed(2)} s`),
  });
  json.backbone = bb;
  let pt: Awaited<ReturnType<typeof measurePytorchReference>> | null = null;
  const ptScript = join(REPO, 'tooling/reference/beats/speed.py');
  if (torch && o.beatsDir) {
    log('backbone: PyTorch reference (official BEATs code)');
    pt = await measurePytorchReference({ python, script: ptScript, beatsDir: o.beatsDir, threads: availableParallelism(), batches, iterations: o.iterations ?? 2 });
    json.pytorchBackbone = pt;
  } else if (torch) {
    notes.push('PyTorch BEATs reference skipped: give --beats-dir <folder with the official BEATs.py> to time it in the same run.');
  }
  const committedPt = readJson<{ pytorch_cpu_clips_per_second: number }>(join(REPO, 'tooling/reference/onnx/timings.json'));
  for (const r of bb.rows) {
    const live = pt?.rows.find((x) => x.batch === r.batch);
    const row: SpeedRow = {
      section: 'backbone',
      case: `BEATs 90M, batch ${r.batch} x ${r.workers} workers`,
      ours: r.clipsPerSecond,
      unit: 'clips/s',
      peakRssMiB: bb.peakRssMiB,
      note: `${r.medianSeconds.toFixed(2)} s / run`,
    };
    if (live) Object.assign(row, { reference: live.clips_per_second, referenceSource: 'live' });
    else if (r.batch === 1 && committedPt) Object.assign(row, { reference: committedPt.pytorch_cpu_clips_per_second, referenceSource: 'committed run' });
    rows.push(row);
  }

  // ONNX Runtime on the same full-size model: our lowering of the op interface, and the official
  // torch.onnx export beside it when given; the PyTorch figure (live or committed) is the reference
  if (!o.skipOnnx) {
    log(`onnx: full-size BEATs through ONNX Runtime (our export${o.officialOnnx ? ' and the official torch.onnx export' : ''}), batch 1, 10 s`);
    const { BEATS_ITER3_CONFIG } = await import('@anopatch/vit-backbone');
    const { exportOursBeats, measureOnnxSpeed, randomBeatsTensors, readNpyParams } = await import('../speed/onnx.js');
    // the reference script saves the official model's weights beside its export (params/): with them
    // our export is the same model, and the output comparison means something
    const paramsDir = o.officialOnnx ? join(dirname(o.officialOnnx), 'params') : undefined;
    const shared = paramsDir && existsSync(join(paramsDir, 'names.json')) ? readNpyParams(paramsDir) : undefined;
    const cfg = shared?.cfg ?? { ...BEATS_ITER3_CONFIG };
    const tensors = shared?.tensors ?? randomBeatsTensors(cfg);
    if (o.officialOnnx && !shared) notes.push(`ORT-official: no ${paramsDir}/names.json beside the export, so our export has other random weights and the output difference to it is not a parity check.`);
    // the first model is the reference of the output comparison
    const models = [
      ...(o.officialOnnx ? [{ name: 'ORT, official torch.onnx export', model: o.officialOnnx }] : []),
      { name: 'ORT, our export fp32', model: exportOursBeats(cfg, tensors) },
      { name: 'ORT, our export int8', model: exportOursBeats(cfg, tensors, 'int8') },
    ];
    const ort = await measureOnnxSpeed({ models, iterations: o.iterations ?? 2, warmup: Math.max(1, o.warmup ?? 1), onProgress: (m, i, sec) => log(`  ${m} run ${i + 1}: ${sec.toFixed(2)} s`) });
    json.onnx = ort;
    const ptBatch1 = pt?.rows.find((x) => x.batch === 1)?.clips_per_second;
    const official = ort.timings.find((t) => t.name.startsWith('ORT, official'));
    for (const t of ort.timings) {
      rows.push({
        section: 'onnx',
        case: `BEATs 90M, batch 1, ${t.name}`,
        ours: t.clipsPerSecond,
        unit: 'clips/s',
        ...(ptBatch1 !== undefined ? { reference: ptBatch1, referenceSource: 'live' } : committedPt ? { reference: committedPt.pytorch_cpu_clips_per_second, referenceSource: 'committed run' } : {}),
        peakRssMiB: rssMiB(),
        note: `${t.medianSeconds.toFixed(2)} s / clip${official && t !== official ? `, ${(t.clipsPerSecond / official.clipsPerSecond).toFixed(2)}x ORT-official` : ''}; max diff to ${models[0]!.name} ${t.relToMax.toExponential(1)} of its max`,
      });
    }
    if (!o.officialOnnx) notes.push('ORT-official: give --official-onnx <file> (tooling/reference/onnx/export_official_beats.py) to time the official torch.onnx export in the same run.');
  }

  // training step, full-size BEATs + head, batch 1
  if (!o.skipTrain) {
    const frames = o.trainFrames ?? BACKBONE_FRAMES_10S;
    const what = `BEATs 90M + head, batch 1 x ${frames} frames`;
    log(`train: one optimizer step of full-size BEATs + ASP head + ArcFace, batch 1 x ${frames} frames`);
    const { AnoPatchModel, measureTrainSpeed } = await import('@anopatch/anopatch');
    const model = AnoPatchModel.create({ backbone: 'beats', embedDim: 128 }, { seed: 0 });
    try {
      const ts = await measureTrainSpeed({ model, batchSize: 1, frames, steps: 1, warmupSteps: 1 });
      json.train = ts;
      rows.push({ section: 'train', case: what, ours: ts.clipsPerSec, unit: 'clips/s', peakRssMiB: rssMiB(), note: `${ts.secondsPerStep.toFixed(1)} s / step; no PyTorch training-step script in tooling/reference` });
    } catch (err) {
      // a failed case is reported, not fatal: the other measurements of a long run stay
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      json.train = { failed: why };
      rows.push({ section: 'train', case: what, ours: Number.NaN, unit: 'clips/s', peakRssMiB: rssMiB(), note: `FAILED: ${why}${backend.name === 'wasm' ? ' (wasm heap: try --train-frames 298)' : ''}` });
    } finally {
      model.dispose();
    }
  }

  // KNN scoring
  const sizes = o.knnSizes ?? [1000, 10000];
  log(`knn: exact and HNSW banks of ${sizes.join(', ')} x 128`);
  const knn = measureKnn({ sizes, recallSize: 0, onProgress: (l) => log(`  ${l}`) });
  json.knn = knn;
  for (const r of knn.rows) {
    rows.push({ section: 'knn', case: `exact, bank ${r.size}`, ours: r.exact.queriesPerS, unit: 'queries/s', peakRssMiB: rssMiB() });
    rows.push({ section: 'knn', case: `HNSW, bank ${r.size}`, ours: r.hnsw.queriesPerS, unit: 'queries/s', peakRssMiB: rssMiB(), note: `recall@1 ${r.hnswRecallAt1.toFixed(3)}` });
  }

  // checkpoint loading, in a fresh process (its peak RSS is the load's)
  let ckpt = o.weights;
  let tmp: string | undefined;
  if (!ckpt) {
    tmp = mkdtempSync(join(tmpdir(), 'anopatch-ckpt-'));
    ckpt = join(tmp, 'beats-size.pt');
    log('checkpoint: writing a synthetic BEATs-size torch checkpoint');
    const { writeSyntheticCheckpoint } = await import('@anopatch/checkpoint');
    writeSyntheticCheckpoint(ckpt);
  } else if (!existsSync(ckpt)) {
    throw new BenchUsageError(`--weights ${ckpt}: file not found`);
  }
  try {
    log(`checkpoint: loading ${ckpt} in a fresh process`);
    const out = execFileSync(process.execPath, [CHILD, ckpt], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const m = JSON.parse(out) as { megabytesPerSecond: number; seconds: number; parameters: number; peakRssBytes?: number; fileBytes: number };
    json.checkpoint = m;
    rows.push({
      section: 'checkpoint',
      case: `${o.weights ? 'given' : 'synthetic'} torch .pt, ${(m.fileBytes / 1e6).toFixed(0)} MB, ${(m.parameters / 1e6).toFixed(1)}M params`,
      ours: m.megabytesPerSecond,
      unit: 'MB/s',
      ...(m.peakRssBytes !== undefined ? { peakRssMiB: m.peakRssBytes / 2 ** 20 } : {}),
      note: `${m.seconds.toFixed(2)} s (fresh process)`,
    });
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }

  if (!torch) notes.push("python3-torch is not installed: the PyTorch reference ran elsewhere; figures marked 'committed run' come from tooling/reference/** (another run, another load), so their ratios are indicative only.");
  notes.push('peak RSS: this process so far (getrusage maxrss; backbone: workers included; checkpoint: the fresh loading process).');
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const header = [
    'anopatch-bench speed',
    `machine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `backend: TF.js ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'} per backend); PyTorch: ${torch ?? 'not installed'}`,
  ];
  json.rows = rows;
  json.floor = floor;
  json.loadavg = loadavg();
  return { text: formatSpeedReport(header, rows, floor, notes), rows, floor, json };
}

interface SpeedFlags {
  batches: string;
  iterations: string;
  warmup: string;
  knnSizes: string;
  weights?: string;
  beatsDir?: string;
  officialOnnx?: string;
  python?: string;
  onnx: boolean;
  train: boolean;
  trainFrames: string;
  json?: boolean;
}

const intList = (name: string, v: string): number[] => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new BenchUsageError(`${name} must be a comma-separated list of positive integers, got '${v}'`);
  return xs;
};

function warmupCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new BenchUsageError(`--warmup must be a non-negative integer, got '${v}'`);
  return n;
}

export function register(program: Command): void {
  program
    .command('speed')
    .description('throughput and peak RSS of fbank, full-size BEATs embedding (TF.js batch 1 and 8; ONNX Runtime fp32 and int8, beside the official torch.onnx export when given), training step, KNN scoring and checkpoint loading; the PyTorch reference beside it when python3-torch is installed; the arithmetic floor')
    .option('--batches <list>', 'backbone batch sizes', '1,8')
    .option('--iterations <n>', 'timed runs per backbone batch size', '2')
    .option('--warmup <n>', 'untimed warm-up runs per backbone batch size (0 on a slow machine: the first run then includes one-off costs)', '1')
    .option('--knn-sizes <list>', 'KNN bank sizes', '1000,10000')
    .option('--weights <pt>', 'checkpoint to time loading (default: a synthetic BEATs-size .pt)')
    .option('--beats-dir <dir>', 'folder with the official BEATs.py (PyTorch reference; needs python3-torch)')
    .option('--python <path>', 'python with torch', '/usr/bin/python3')
    .option('--official-onnx <file>', 'official BEATs exported with torch.onnx (tooling/reference/onnx/export_official_beats.py), timed beside our export')
    .option('--no-onnx', 'skip the ONNX Runtime case')
    .option('--no-train', 'skip the full-size training step')
    .option('--train-frames <n>', 'fbank frames of the training-step clip', '998')
    .option('--json', 'print JSON instead of the table')
    .action(async (f: SpeedFlags) => {
      const r = await runSpeed({
        batches: intList('--batches', f.batches),
        iterations: intList('--iterations', f.iterations)[0]!,
        warmup: warmupCount(f.warmup),
        knnSizes: intList('--knn-sizes', f.knnSizes),
        ...(f.weights ? { weights: f.weights } : {}),
        ...(f.beatsDir ? { beatsDir: f.beatsDir } : {}),
        ...(f.python ? { python: f.python } : {}),
        ...(f.officialOnnx ? { officialOnnx: f.officialOnnx } : {}),
        skipOnnx: !f.onnx,
        skipTrain: !f.train,
        trainFrames: intList('--train-frames', f.trainFrames)[0]!,
      });
      process.stdout.write(f.json ? JSON.stringify(r.json, null, 1) + '\n' : r.text + '\n');
    });
}
