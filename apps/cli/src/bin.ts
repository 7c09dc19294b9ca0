#!/usr/bin/env node
import { register } from 'node:module';

// before any TF.js module loads (see hooks.ts)
register('./hooks.js', import.meta.url);

// Trying tfjs-node-gpu and then tfjs-node (both installed as optional dependencies, neither with a
// usable native binding here) registers the same 'tensorflow' kernels twice; TF.js warns once per
// kernel, ~150 lines that say nothing to a user. Only that exact warning is dropped.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]): void => {
  if (args.length === 1 && typeof args[0] === 'string' && /^The kernel '[^']+' for backend '[^']+' is already registered$/.test(args[0])) return;
  warn(...args);
};

const { main } = await import('./program.js');
process.exitCode = await main(process.argv.slice(2));
