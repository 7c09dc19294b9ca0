import { type CheckpointInfo, inspectCheckpoint, type TensorDtype } from '@anopatch/checkpoint';
import { type Command } from 'commander';

import { UsageError } from '../errors.js';

interface InspectOptions {
  names: string;
  stateDict?: string;
  json?: boolean;
  metaLines: string;
}

const count = (n: number): string => n.toLocaleString('en-US');

export interface CheckpointSummary {
  file: string;
  format: CheckpointInfo['format'];
  stateDictPath: string;
  tensors: number;
  parameters: number;
  dtypes: Partial<Record<TensorDtype, { tensors: number; parameters: number }>>;
  names: { name: string; dtype: TensorDtype; shape: number[] }[];
  meta: CheckpointInfo['meta'];
}

/** What `inspect` reports, from a loaded checkpoint; `limit` caps the listed names. */
export function summarizeCheckpoint(file: string, ck: CheckpointInfo, limit: number): CheckpointSummary {
  const dtypes: CheckpointSummary['dtypes'] = {};
  let parameters = 0;
  const names: CheckpointSummary['names'] = [];
  for (const [name, t] of ck.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    parameters += n;
    const d = (dtypes[t.dtype] ??= { tensors: 0, parameters: 0 });
    d.tensors++;
    d.parameters += n;
    if (names.length < limit) names.push({ name, dtype: t.dtype, shape: t.shape });
  }
  return { file, format: ck.format, stateDictPath: ck.stateDictPath, tensors: ck.tensors.size, parameters, dtypes, names, meta: ck.meta };
}

export function formatSummary(s: CheckpointSummary, metaLines: number): string {
  const lines = [
    `file        ${s.file}`,
    `format      ${s.format}${s.format === 'torch-zip' ? ` (state dict at ${s.stateDictPath === '' ? 'the root' : `'${s.stateDictPath}'`})` : ''}`,
    `tensors     ${count(s.tensors)}`,
    `parameters  ${count(s.parameters)}`,
    `dtypes      ${Object.entries(s.dtypes).map(([d, c]) => `${d} ${count(c.tensors)} tensors / ${count(c.parameters)} params`).join(', ') || '-'}`,
  ];
  if (s.names.length > 0) {
    lines.push(`first ${s.names.length} of ${count(s.tensors)} tensors:`);
    const width = Math.max(...s.names.map((n) => n.name.length));
    for (const n of s.names) lines.push(`  ${n.name.padEnd(width)}  ${n.dtype.padEnd(8)}  [${n.shape.join(', ')}]`);
  }
  const meta = JSON.stringify(s.meta, null, 2).split('\n');
  if (Object.keys(s.meta).length === 0) lines.push('meta        (none)');
  else {
    lines.push('meta:');
    for (const l of meta.slice(0, metaLines)) lines.push(`  ${l}`);
    if (meta.length > metaLines) lines.push(`  ... ${meta.length - metaLines} more lines (--json prints all)`);
  }
  return lines.join('\n') + '\n';
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
}

/** `anopatch inspect <checkpoint>`: format, counts, dtypes, names with shapes and meta (e.g. BEATs cfg). */
export function register(program: Command): void {
  program
    .command('inspect')
    .description('show what a checkpoint holds: format, tensor and parameter counts, dtypes, the first tensor names with shapes, and its meta (e.g. BEATs cfg)')
    .argument('<checkpoint>', 'a torch.save file (.pt/.pth/.ckpt/.bin) or a .safetensors file')
    .option('-n, --names <n>', 'how many tensor names to list', '20')
    .option('--state-dict <path>', "dotted path of the state dict inside the checkpoint ('' for the root)")
    .option('--meta-lines <n>', 'how many lines of meta to print', '60')
    .option('--json', 'print one JSON object instead of text')
    .action((file: string, options: InspectOptions) => {
      const limit = positiveInt(options.names, '--names');
      const metaLines = positiveInt(options.metaLines, '--meta-lines');
      // names and shapes only: tensor data is validated against the archive but never read
      const ck = inspectCheckpoint(file, options.stateDict === undefined ? {} : { stateDict: options.stateDict });
      const summary = summarizeCheckpoint(file, ck, limit);
      process.stdout.write(options.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary, metaLines));
    });
}
