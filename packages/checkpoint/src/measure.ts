import { statSync } from 'node:fs';

import { numelOf } from './tensor.js';
import { type CheckpointFormat, readTorchCheckpoint, type ReadCheckpointOptions } from './torch.js';

export interface CheckpointLoadMeasurement {
  path: string;
  format: CheckpointFormat;
  fileBytes: number;
  tensors: number;
  parameters: number;
  /** wall-clock seconds for readTorchCheckpoint, all tensor data materialised */
  seconds: number;
  /** fileBytes / seconds, in MB/s (10^6) */
  megabytesPerSecond: number;
  /** the process's resident set before the load */
  rssBeforeBytes: number;
  /**
   * the process's peak resident set so far (getrusage maxrss): the load's peak when measured in a
   * fresh process, as `anopatch-bench speed` does
   */
  peakRssBytes: number;
}

/** Load a checkpoint once, timing it and recording memory, for the speed benchmark. */
export function measureCheckpointLoad(path: string, options: ReadCheckpointOptions = {}): CheckpointLoadMeasurement {
  const fileBytes = statSync(path).size;
  const rssBeforeBytes = process.memoryUsage.rss();
  const t0 = process.hrtime.bigint();
  const ck = readTorchCheckpoint(path, options);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let parameters = 0;
  for (const t of ck.tensors.values()) parameters += numelOf(t.shape);
  return {
    path,
    format: ck.format,
    fileBytes,
    tensors: ck.tensors.size,
    parameters,
    seconds,
    megabytesPerSecond: fileBytes / 1e6 / seconds,
    rssBeforeBytes,
    // maxRSS is reported in kilobytes
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
