import { describe, expect, it } from 'vitest';

import { buildProgram } from './program.js';

describe('anopatch-bench program', () => {
  it('is named anopatch-bench', () => {
    expect(buildProgram().name()).toBe('anopatch-bench');
  });
});
