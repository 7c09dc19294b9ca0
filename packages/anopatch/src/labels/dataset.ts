import { loadAudio16k, presetFbank, type FbankPresetName } from '@anopatch/audio-features';
import { buildClassTable, type ClassTable, type ClipRecord, type DatasetScan } from '@anopatch/dcase-eval';

import { TrainDataError } from '../errors.js';
import type { ClipSource, TrainClip } from '../trainer/data.js';

export interface DcaseTrainingSet {
  source: ClipSource;
  classes: ClassTable;
  /** Class keys (index = label), e.g. 'fan/id_00' (2020) or 'ToyCar/section_00/car_A1_...' (2023). */
  classNames: string[];
  records: ClipRecord[];
}

export interface DcaseTrainingOptions {
  /** Fbank preset of the backbone (default 'beats'). */
  preset?: FbankPresetName;
  /**
   * Keep computed fbanks in memory up to this many bytes (first come, kept; default 2 GiB; 0 = off).
   * A 10 s clip's fbank is 998 x 128 floats = 0.5 MB, so the full DCASE 2020 dev + eval training set
   * (~33k clips) would need ~17 GB: beyond the budget clips are decoded again each epoch.
   */
  cacheMaxBytes?: number;
}

/**
 * The metadata-class training set of the paper from one or more DCASE scans (normally the dev and
 * eval training splits together): the normal training clips, labelled by dcase-eval's class table
 * (2020: type x machine ID = 41 classes; 2023: type x section x attribute string = 167 classes).
 * Clips are decoded, resampled to 16 kHz and turned into the backbone's normalised fbank on demand.
 */
export function dcaseTrainingSet(scans: readonly DatasetScan[], options: DcaseTrainingOptions = {}): DcaseTrainingSet {
  if (scans.length === 0) throw new TrainDataError('training data', 'no dataset scans given');
  const edition = scans[0]!.edition;
  const records = scans
    .flatMap((s) => s.records)
    .filter((r) => r.subset === 'train' && r.label === 'normal')
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (records.length === 0) throw new TrainDataError(scans.map((s) => s.root).join(', '), 'no normal training clips found');
  const classes = buildClassTable(records, edition);
  const labels = records.map((r) => classes.labelOf(r));
  const preset = options.preset ?? 'beats';
  const budget = options.cacheMaxBytes ?? 2 ** 31;
  let cached = 0;
  const memo = new Map<number, TrainClip>();
  const source: ClipSource = {
    size: records.length,
    numClasses: classes.classes.length,
    labelOf: (i) => labels[i]!,
    async get(i) {
      const hit = memo.get(i);
      if (hit) return hit;
      const r = records[i]!;
      const wave = await loadAudio16k(r.path);
      const clip = { fbank: presetFbank(wave, preset, { source: r.path }), label: labels[i]! };
      if (cached + clip.fbank.data.byteLength <= budget) {
        memo.set(i, clip);
        cached += clip.fbank.data.byteLength;
      }
      return clip;
    },
  };
  return { source, classes, classNames: classes.classes.map((c) => c.key), records };
}
