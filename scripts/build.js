// `npm run build` (and `prepare`, so `npm ci && npm start` is one step): src/ → dist/ at the same depth, so paths such as
// ../../migrations resolve alike from both, with non-TypeScript files copied beside the compiled ones.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.js';

const root = fileURLToPath(new URL('../', import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev` runs prepare too, without the compiler: not an error there, but say what it means.
  const asPrepare = process.env.npm_lifecycle_event === 'prepare';
  process.stderr.write(`TypeScript is not installed, so dist/ was not built${asPrepare ? '' : '; run `npm ci` (with dev dependencies) first'}.\n`);
  process.exit(asPrepare ? 0 : 1);
}
rmSync(`${root}dist`, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
} catch {
  process.stderr.write('The build failed (the compiler errors are above); dist/ is incomplete.\n');
  process.exit(1);
}
// The playground's browser modules stay TypeScript: its page server compiles them for the browser on request.
const browserModules = join('src', 'playground', 'web');
cpSync(`${root}src`, `${root}dist`, { recursive: true, filter: (path) => !path.endsWith('.ts') || path.includes(browserModules) });
try {
  await bundle(root);
} catch (error) {
  process.stderr.write(`Bundling dist/ failed (${error instanceof Error ? error.message : String(error)}); there is no dist/bundle/, so Sesame would run from dist/ unbundled. Fix the error above and run \`npm run build\` again.\n`);
  process.exit(1);
}
