#!/usr/bin/env node
import { register } from 'node:module';

// before any TF.js module loads (see hooks.ts)
register('./hooks.js', import.meta.url);

const { main } = await import('./program.js');
process.exitCode = await main(process.argv.slice(2));
