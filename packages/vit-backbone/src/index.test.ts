import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { packageName } from './index.js';

describe('@anopatch/vit-backbone', () => {
  it('exports under its package name', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string };
    expect(packageName).toBe(pkg.name);
  });
});
