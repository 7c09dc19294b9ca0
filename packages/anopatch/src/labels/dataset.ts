import { loadAudio16k, presetFbank, type FbankPresetName } from '@anopatch/audio-features';
import { buildClassTable, type ClassTable, type ClipRecord, type DatasetScan } from '@anopatch/dcase-eval';
import type { FrontEnd } from '@anopatch/vit-backbone';

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
   * What `get(i)` yields without a front end named: 'fbank' (default) or the 16 kHz 'waveform'.
   * The trainer names the model's front end on every call, so training needs no setting here.
   */
  frontEnd?: FrontEnd;
  /**
   * Keep computed fbanks (or waveforms: 10 s = 0.64 MB) in memory up to this many bytes (first come, kept; default 2 GiB; 0 = off).
   * A 10 s clip's fbank is 998 x 128 floats = 0.5 MB, so the full DCASE 2020 dev + eval training set
   * (~33k clips) would need ~17 GB: beyond the budget clips are decoded again each epoch.
   */
  cacheMaxBytes?: number;
}

/**
 * The metadata-class training set of the paper from one or more DCASE scans (normally the dev and
 * eval training splits together): the normal training clips, labelled by dcase-eval's class table
 * (2020: type x machine ID = 41 classes; 2023: type x section x attribute string = 167 classes).
 * Clips are decoded, resampled to 16 kHz and turned into the backbone's normalised fbank on demand
 * (waveform front end: the 16 kHz waveform is the training input).
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
    async get(i, frontEnd) {
      const waveform = (frontEnd ?? options.frontEnd) === 'waveform';
      const hit = memo.get(i);
      if (hit && (hit.wave !== undefined) === waveform) return hit;
      const r = records[i]!;
      const wave = await loadAudio16k(r.path);
      const clip: TrainClip = waveform ? { wave, label: labels[i]! } : { fbank: presetFbank(wave, preset, { source: r.path }), label: labels[i]! };
      const bytes = (clip.wave ?? clip.fbank.data).byteLength;
      // first come, kept: a clip asked for in the other front end later is decoded again, not cached twice
      if (!hit && cached + bytes <= budget) {
        memo.set(i, clip);
        cached += bytes;
      }
      return clip;
    },
  };
  return { source, classes, classNames: classes.classes.map((c) => c.key), records };
}
