import type { Command } from 'commander';

import { register as demo } from './demo.js';
import { register as embed } from './embed.js';
import { register as evaluate } from './evaluate.js';
import { register as exportModel } from './export.js';
import { register as features } from './features.js';
import { register as inspect } from './inspect.js';
import { register as score } from './score.js';
import { register as synth } from './synth.js';
import { register as tokens } from './tokens.js';
import { register as train } from './train.js';

/** Each command lives in its own module and registers itself here. */
export const commands: ((program: Command) => void)[] = [demo, synth, train, embed, score, evaluate, exportModel, features, inspect, tokens];
