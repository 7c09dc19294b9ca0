import { describe, expect, it } from 'vitest';

import { EXIT, reportError, UsageError } from './errors.js';
import { buildProgram, main } from './program.js';

describe('anopatch program', () => {
  it('names itself and rejects unknown commands as usage errors', async () => {
    expect(buildProgram().name()).toBe('anopatch');
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = () => true;
    try {
      expect(await main(['no-such-command'])).toBe(EXIT.usage);
    } finally {
      process.stderr.write = write;
    }
  });
  it('maps typed errors to one line and exit code 1', () => {
    class WavFormatError extends Error {
      override name = 'WavFormatError';
    }
    const lines: string[] = [];
    expect(reportError(new WavFormatError('a.wav: truncated data chunk\nmore'), (l) => lines.push(l))).toBe(EXIT.failure);
    expect(lines).toEqual(['anopatch: WavFormatError: a.wav: truncated data chunk']);
    expect(reportError(new UsageError('--out is required'), (l) => lines.push(l))).toBe(EXIT.usage);
  });
});
