// Bundles the compiled CLI (dist/cli/main.js) and the packages it imports into dist/bundle/: at start Node then reads
// and compiles a few files instead of several hundred, which was most of `sesame start`'s time to ready. What the CLI
// imports on first use (each command, the cloud SDKs) stays a chunk or a package of its own, loaded only when needed.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, relative, sep } from 'node:path';

/**
 * Left to node_modules: native addons and their optional helpers, and the SDKs and tools loaded on first use. A
 * CommonJS package imported with `import()` must stay outside too: split into a chunk of its own, esbuild would give
 * it a default export only, where Node gives its named exports as well (undici's `request`). Socket Mode's client and
 * Express are Bolt's receivers' alone, loaded only with them (see lazyBoltReceivers).
 */
const EXTERNAL = ['@slack/socket-mode', 'express', 'better-sqlite3', 'pg', 'pg-native', 'bufferutil', 'utf-8-validate', 'typescript', 'undici', '@aws-sdk/*', '@googleapis/*', 'google-auth-library', '@octokit/*', '@kubernetes/client-node'];

/**
 * Code that finds files next to itself (migrations, package.json, the playground's page) reads `import.meta.url`,
 * `__dirname` or `__filename`; inside a bundle those would name the chunk. Each is rewritten to the place the module
 * came from, relative to the chunk (every chunk is in `outdir`), so the bundle still works when the folder moves.
 */
function ownLocations(outdir) {
  return {
    name: 'own-locations',
    setup(build) {
      build.onLoad({ filter: /\.(m?js|cjs)$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!/import\.meta\.url|__dirname|__filename/.test(source)) return undefined;
        const from = (path) => relative(outdir, path).split(sep).join('/');
        // The chunk's own URL comes from the banner: `import.meta` here would make esbuild treat a CommonJS file as ESM.
        const url = (path) => `new URL(${JSON.stringify(from(path))}, sesameChunkUrl)`;
        const file = args.path;
        const dir = file.slice(0, file.lastIndexOf(sep) + 1);
        // CommonJS's own two names, declared at the top of a module that uses them without declaring them (a CommonJS
        // module is wrapped in a function, and esbuild renames an ES module's top-level names that would collide).
        const declared = (name) => new RegExp(`(?:var|let|const|function)\\s+${name}\\b`).test(source);
        const locals = [
          /\b__filename\b/.test(source) && !declared('__filename') ? `var __filename = decodeURIComponent(${url(file)}.pathname);` : '',
          /\b__dirname\b/.test(source) && !declared('__dirname') ? `var __dirname = decodeURIComponent(${url(dir)}.pathname).replace(/\\/$/, '');` : '',
        ].join('');
        const rewritten = source.replace(/\bimport\.meta\.url\b/g, `${url(file)}.href`);
        // After a shebang and a "use strict" directive, which must stay first to count.
        const head = /^(#![^\n]*\n)?(\s*(['"])use strict\3;?)?/.exec(rewritten)?.[0] ?? '';
        return { contents: `${head}${locals ? `;${locals}` : ''}${rewritten.slice(head.length)}`, loader: 'js' };
      });
    },
  };
}

/** Bolt's receivers that HTTP mode never uses; Bolt's index and App.js load them at once. */
const LAZY_RECEIVERS = ['AwsLambdaReceiver', 'ExpressReceiver', 'SocketModeReceiver'];

/**
 * Bolt's index and App.js require every receiver when loaded: Socket Mode's client (which loads undici, some hundred
 * files) and Express were a sixth of `sesame start`'s time to ready in HTTP mode, which uses neither. Each such require
 * becomes a getter that loads the receiver on first use (Socket Mode, or someone importing ExpressReceiver). A Bolt
 * release written differently is bundled as it is, with a warning: slower to start, not broken.
 */
function lazyBoltReceivers(root) {
  const missing = new Set([...LAZY_RECEIVERS.map((name) => `index.js:${name}`), 'App.js:SocketModeReceiver']);
  return {
    name: 'lazy-bolt-receivers',
    setup(build) {
      // Registered before ownLocations, whose onLoad then never sees these two files: neither reads its own location.
      build.onLoad({ filter: /[\\/]@slack[\\/]bolt[\\/]dist[\\/](index|App)\.js$/ }, async (args) => {
        let source = await readFile(args.path, 'utf8');
        const before = source;
        for (const name of LAZY_RECEIVERS) {
          const eager = `const ${name}_1 = __importDefault(require("./receivers/${name}"));`;
          if (!source.includes(eager)) continue;
          source = source
            .replace(eager, `const ${name}_1 = { get default() { return __importDefault(require("./receivers/${name}")).default; } };`)
            .replace(`exports.${name} = ${name}_1.default;`, `Object.defineProperty(exports, "${name}", { enumerable: true, get: () => ${name}_1.default });`);
          missing.delete(`${basename(args.path)}:${name}`);
        }
        return source === before ? undefined : { contents: source, loader: 'js' };
      });
      build.onEnd(() => {
        if (missing.size > 0) process.stderr.write(`Bolt no longer loads its receivers as the bundle expects (${[...missing].join(', ')}), so \`sesame start\` may load Socket Mode's client and Express even in HTTP mode: slower to start, still correct. Update LAZY_RECEIVERS in scripts/bundle.js.\n`);
        // Left out of the bundle, they are found from dist/bundle/ at run time: that must be the copy Bolt itself would load.
        const fromBolt = createRequire(createRequire(`${root}package.json`).resolve('@slack/bolt'));
        const fromBundle = createRequire(`${root}dist/bundle/main.js`);
        for (const name of ['@slack/socket-mode', 'express']) {
          let same = false;
          try {
            same = fromBolt.resolve(name) === fromBundle.resolve(name);
          } catch {
            // One of them cannot find it at all: not the same copy.
          }
          if (!same) process.stderr.write(`${name} as Bolt resolves it is not the copy the bundle finds at run time (not hoisted to node_modules/?); Socket Mode or Express may fail to load. Reinstall with \`npm ci\`.\n`);
        }
      });
    },
  };
}

/** The packages whose code each output file holds, by file name (what `test/cli/lazy-imports` checks a command loads). */
function packagesByFile(metafile) {
  const byFile = {};
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    if (!output.endsWith('.js')) continue;
    const names = Object.keys(inputs).map((input) => input.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1]).filter(Boolean);
    byFile[basename(output)] = [...new Set(names)].sort();
  }
  return byFile;
}

/** Builds dist/bundle/main.js (and its chunks); false, with the reason on stderr, when esbuild is not installed. */
export async function bundle(root) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    process.stderr.write('esbuild is not installed, so dist/bundle/ was not built; Sesame runs from dist/ unbundled (a slower start).\n');
    return false;
  }
  const outdir = `${root}dist/bundle`;
  const result = await esbuild.build({
    entryPoints: { main: `${root}dist/cli/main.js` },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
    banner: { js: "import { createRequire as sesameRequire } from 'node:module'; const sesameChunkUrl = import.meta.url; const require = sesameRequire(sesameChunkUrl);" },
    plugins: [lazyBoltReceivers(root), ownLocations(outdir)],
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  await writeFile(`${outdir}/packages.json`, `${JSON.stringify(packagesByFile(result.metafile), null, 1)}\n`);
  return true;
}
