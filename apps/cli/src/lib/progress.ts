import type { ProgressEvent } from '@anopatch/anopatch';

/** Where progress goes: a bar with ETA on a TTY, plain lines otherwise (logs, CI, pipes). */
export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

interface StageState {
  start: number;
  /** done (and cached) when the stage started moving, so the ETA reflects work actually done here */
  firstDone: number;
  firstCached: number;
  lastPrint: number;
  lastPct: number;
  finished: boolean;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Seconds left for a stage: rate measured over the items computed in this stage (cache hits are
 * nearly free, so they count as done but not as evidence of speed).
 */
export function estimateEta(state: { elapsed: number; done: number; cached: number; firstDone: number; firstCached: number; total: number }): number {
  const worked = state.done - state.cached - (state.firstDone - state.firstCached);
  if (worked <= 0 || state.elapsed <= 0) return Number.NaN;
  return ((state.total - state.done) * state.elapsed) / worked;
}

export class ProgressReporter {
  private readonly stages = new Map<string, StageState>();
  private current: string | undefined;
  private barOpen = false;

  constructor(
    private readonly sink: ProgressSink = process.stderr,
    private readonly now: () => number = () => performance.now() / 1000,
    private readonly quiet = false,
  ) {}

  /** The `onProgress` callback the pipeline and the trainer take. */
  readonly onProgress = (e: ProgressEvent): void => {
    if (this.quiet) return;
    const t = this.now();
    let st = this.stages.get(e.stage);
    if (!st) {
      st = { start: t, firstDone: e.done, firstCached: e.cached ?? 0, lastPrint: -Infinity, lastPct: -1, finished: false };
      this.stages.set(e.stage, st);
    }
    if (st.finished) return;
    if (this.current !== e.stage) {
      this.endBar();
      this.current = e.stage;
    }
    const complete = e.done >= e.total;
    const pct = e.total > 0 ? Math.floor((100 * e.done) / e.total) : 100;
    const eta = estimateEta({ elapsed: t - st.start, done: e.done, cached: e.cached ?? 0, firstDone: st.firstDone, firstCached: st.firstCached, total: e.total });
    const cached = e.cached ? `, ${e.cached} cached` : '';
    if (this.sink.isTTY) {
      if (!complete && t - st.lastPrint < 0.1) return;
      const width = Math.max(10, Math.min(30, (this.sink.columns ?? 80) - 60));
      const fill = Math.round((width * pct) / 100);
      const tail = complete ? `done in ${formatDuration(t - st.start)}` : `ETA ${formatDuration(eta)}`;
      this.sink.write(`\r${e.stage} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${e.done}/${e.total} ${pct}% ${tail}${cached}\x1b[K`);
      this.barOpen = true;
    } else {
      // plain lines: at most one per 10% or per 5 s, and the last one
      if (!complete && pct - st.lastPct < 10 && t - st.lastPrint < 5) return;
      const tail = complete ? `done in ${formatDuration(t - st.start)}` : `ETA ${formatDuration(eta)}`;
      this.sink.write(`${e.stage}: ${e.done}/${e.total} (${pct}%) ${tail}${cached}\n`);
      st.lastPct = pct;
    }
    st.lastPrint = t;
    if (complete) {
      st.finished = true;
      this.endBar();
    }
  };

  /** A line of its own (closes an open bar first). */
  log(line: string): void {
    if (this.quiet) return;
    this.endBar();
    this.sink.write(line + '\n');
  }

  endBar(): void {
    if (this.barOpen) {
      this.sink.write('\n');
      this.barOpen = false;
    }
  }
}
