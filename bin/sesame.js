#!/usr/bin/env node
// The `sesame` command: runs the TypeScript CLI through tsx, so a clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const args = process.argv.slice(2);
const code = await main(args);
// After `start` stops, connection pools may linger; other commands exit naturally so piped output is never cut.
if (args[0] === 'start') process.exit(code);
process.exitCode = code;
