/**
 * Loads one checkpoint in a fresh process and prints measureCheckpointLoad's JSON: the peak RSS of
 * a fresh process is the load's own peak, not whatever the bench allocated before.
 */
import { measureCheckpointLoad } from '@anopatch/checkpoint';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: checkpoint-child.js <checkpoint>\n');
  process.exitCode = 2;
} else {
  process.stdout.write(JSON.stringify(measureCheckpointLoad(path)) + '\n');
}
