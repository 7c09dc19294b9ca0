import type { TrainProgress } from './train.js';

export interface ProgressPrinterOptions {
  /** Where to write; default process.stderr. */
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Plain lines every N steps when not on a TTY (default 10). */
  every?: number;
  /** Bar width in characters (default 30). */
  width?: number;
}

/** One human-readable status line for a step. */
export function formatProgress(p: TrainProgress): string {
  const eta = p.stepsPerSec > 0 ? (p.totalSteps - p.step) / p.stepsPerSec : Number.POSITIVE_INFINITY;
  return (
    `step ${p.step}/${p.totalSteps} ep ${p.epoch} loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(1)}% ` +
    `lr ${p.lr.toExponential(2)} ${p.stepsPerSec.toFixed(3)} steps/s ${p.clipsPerSec.toFixed(1)} clips/s eta ${formatDuration(eta)}`
  );
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * An `onProgress` callback: a redrawn bar on a TTY, plain lines every `every` steps (and the last) otherwise.
 */
export function progressPrinter(options: ProgressPrinterOptions = {}): (p: TrainProgress) => void {
  const stream = options.stream ?? process.stderr;
  const every = options.every ?? 10;
  const width = options.width ?? 30;
  return (p) => {
    if (stream.isTTY) {
      const filled = Math.round((width * p.step) / p.totalSteps);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${formatProgress(p)}\x1b[K`);
      if (p.step === p.totalSteps) stream.write('\n');
    } else if (p.step % every === 0 || p.step === p.totalSteps) {
      stream.write(`${formatProgress(p)}\n`);
    }
  };
}
