#!/usr/bin/env node
// The `sesame` command: the compiled CLI in dist/, or the TypeScript source through tsx in a checkout not built (or edited since the build).
import { existsSync, readdirSync, statSync } from 'node:fs';
import module from 'node:module';

// Node 22.1+ keeps compiled code of the modules between runs, which shortens every later start; older Node skips it.
module.enableCompileCache?.();

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/cli/main.js', root);
// The same code bundled into a few files (scripts/bundle.js): far fewer files to read and compile at start.
const bundled = new URL('dist/bundle/main.js', root);
const source = new URL('src/', root);

/** Whether a source file changed after the build, so a stale dist/ never runs code other than what is checked out. */
function sourceIsNewer(builtAt) {
  for (const entry of readdirSync(source, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && statSync(`${entry.parentPath}/${entry.name}`).mtimeMs > builtAt) return true;
  }
  return false;
}

async function fromSource() {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('Sesame is not built and tsx is not installed; run `npm ci` (which builds it) or `npm run build`.\n');
    process.exit(1);
  }
  register();
  return import(new URL('src/cli/main.ts', root).href);
}

const useCompiled = existsSync(compiled) && !(existsSync(source) && sourceIsNewer(statSync(compiled).mtimeMs));
// The bundle only when made from this dist/ (a later tsc alone would leave an older bundle behind).
const bundleFresh = existsSync(bundled) && statSync(bundled).mtimeMs >= statSync(compiled).mtimeMs;
const { run } = useCompiled ? await import((bundleFresh ? bundled : compiled).href) : await fromSource();
await run(process.argv.slice(2));
