// Preloaded into a `sesame` process (NODE_OPTIONS=--import=…) to write every module it loads to $IMPORTS_FILE, one URL or path a line:
// ES modules as they are resolved (a hook), and CommonJS ones from require.cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import process from 'node:process';

const file = process.env.IMPORTS_FILE;
if (!file) throw new Error('record-imports.mjs needs IMPORTS_FILE, the file to write the loaded modules to');

// The resolve hook runs on the loader's own thread, so it gets the file name as data, not through this module.
const hooks = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(file, resolved.url + '\\n');
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { file } });

const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(file, Object.keys(require.cache).join('\n') + '\n'));
