import type { ProgressEvent } from '@anopatch/anopatch';

export interface ProgressPrinter {
  onProgress: (e: ProgressEvent) => void;
  log: (line: string) => void;
}

/** A bar redrawn in place on a TTY; plain lines (stage start, every quarter, end) otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): ProgressPrinter {
  let stage = '';
  let lastQuarter = -1;
  let started = 0;
  let onBar = false;
  const clear = () => {
    if (onBar) stream.write('\r\x1b[K');
    onBar = false;
  };
  return {
    log: (line) => {
      clear();
      stream.write(`${line}\n`);
    },
    onProgress: (e) => {
      if (e.stage !== stage) {
        stage = e.stage;
        lastQuarter = -1;
        started = performance.now();
      }
      const frac = e.total > 0 ? e.done / e.total : 1;
      const elapsed = (performance.now() - started) / 1000;
      const eta = frac > 0 && frac < 1 ? ` eta ${((elapsed / frac) * (1 - frac)).toFixed(0)} s` : '';
      const cached = e.cached ? ` (${e.cached} cached)` : '';
      if (stream.isTTY) {
        const width = 24;
        const fill = Math.round(frac * width);
        stream.write(`\r\x1b[K${stage.padEnd(18)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${e.done}/${e.total}${cached}${eta}`);
        onBar = true;
        if (e.done >= e.total) clear();
        return;
      }
      const quarter = Math.floor(frac * 4);
      if (quarter !== lastQuarter) {
        lastQuarter = quarter;
        stream.write(`${stage}: ${e.done}/${e.total}${cached} (${elapsed.toFixed(1)} s)\n`);
      }
    },
  };
}
