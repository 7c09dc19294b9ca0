import { describe, expect, it } from 'vitest';

import { estimateEta, formatDuration, ProgressReporter } from './progress.js';

function sink(isTTY: boolean): { isTTY: boolean; columns: number; text: string[]; write(t: string): boolean } {
  return {
    isTTY,
    columns: 100,
    text: [],
    write(t: string) {
      this.text.push(t);
      return true;
    },
  };
}

describe('progress reporting', () => {
  it('formats durations and estimates the ETA from computed (not cached) items', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('--:--');
    // 10 computed in 5 s -> 2/s; 30 left -> 15 s
    expect(estimateEta({ elapsed: 5, done: 20, cached: 10, firstDone: 0, firstCached: 0, total: 50 })).toBe(15);
    expect(estimateEta({ elapsed: 5, done: 20, cached: 20, firstDone: 0, firstCached: 0, total: 50 })).toBeNaN();
  });

  it('plain lines off a TTY: at most one per 10 % (or 5 s), always the last', () => {
    let t = 0;
    const s = sink(false);
    const r = new ProgressReporter(s, () => t);
    for (let done = 1; done <= 40; done++) {
      t += 0.1;
      r.onProgress({ stage: 'embed dev', done, total: 40 });
    }
    expect(s.text).toHaveLength(11);
    // the first event has no rate to go on yet
    expect(s.text[0]).toBe('embed dev: 1/40 (2%) ETA --:--\n');
    expect(s.text[1]).toBe('embed dev: 5/40 (12%) ETA 0:04\n');
    expect(s.text.at(-1)).toBe('embed dev: 40/40 (100%) done in 0:04\n');
    // a finished stage prints nothing more
    r.onProgress({ stage: 'embed dev', done: 40, total: 40 });
    expect(s.text).toHaveLength(11);
  });

  it('a bar with ETA on a TTY, redrawn in place, closed with a newline when done or when a log line comes', () => {
    let t = 0;
    const s = sink(true);
    const r = new ProgressReporter(s, () => t);
    r.onProgress({ stage: 'train', done: 0, total: 4 });
    t = 1;
    r.onProgress({ stage: 'train', done: 1, total: 4, cached: 0 });
    expect(s.text.at(-1)).toBe(`\rtrain [${'#'.repeat(8)}${'-'.repeat(22)}] 1/4 25% ETA 0:03\x1b[K`);
    r.log('step 1 loss 2.0');
    expect(s.text.slice(-2)).toEqual(['\n', 'step 1 loss 2.0\n']);
    t = 4;
    r.onProgress({ stage: 'train', done: 4, total: 4 });
    expect(s.text.slice(-2)).toEqual([`\rtrain [${'#'.repeat(30)}] 4/4 100% done in 0:04\x1b[K`, '\n']);
  });

  it('quiet mode prints nothing', () => {
    const s = sink(true);
    const r = new ProgressReporter(s, () => 0, true);
    r.onProgress({ stage: 'x', done: 1, total: 1 });
    r.log('hello');
    expect(s.text).toEqual([]);
  });
});
