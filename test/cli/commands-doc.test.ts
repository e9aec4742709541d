// docs/commands.md documents every command the CLI has, under a heading that starts with its name.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/commands.md', import.meta.url)), 'utf8');

describe('docs/commands.md', () => {
  it.each(COMMANDS.map((c) => c.name))('has a section for `sesame %s`', (name) => {
    expect(DOC).toMatch(new RegExp(`^### \`sesame ${name}( [^\`]*)?\`$`, 'm'));
  });
});
