// The Node flags `sesame` runs with, read from its shebang: the bench starts Sesame exactly as `sesame start` does.
import { readFileSync } from 'node:fs';

/** The flags after `node` on bin/sesame.js's first line (`#!/usr/bin/env -S node …`); none for a plain `#!/usr/bin/env node`. */
export function sesameNodeFlags(root: string): string[] {
  const shebang = readFileSync(`${root}/bin/sesame.js`, 'utf8').split('\n', 1)[0] ?? '';
  const flags = /^#!\/usr\/bin\/env(?: -S)? node(?<flags>(?: \S+)*)$/.exec(shebang)?.groups?.flags;
  if (flags === undefined) throw new Error(`bin/sesame.js starts with an unexpected line: ${shebang}`);
  return flags.split(' ').filter(Boolean);
}
