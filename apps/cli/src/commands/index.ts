import type { Command } from 'commander';

import { register as evaluate } from './evaluate.js';
import { register as features } from './features.js';
import { register as inspect } from './inspect.js';

/** Each command lives in its own module and registers itself here. */
export const commands: ((program: Command) => void)[] = [evaluate, features, inspect];
