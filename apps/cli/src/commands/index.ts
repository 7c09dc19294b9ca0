import type { Command } from 'commander';

import { register as features } from './features.js';

/** Each command lives in its own module and registers itself here. */
export const commands: ((program: Command) => void)[] = [features];
