// The Node flags Sesame runs with in production, read from `npm start`: the bench starts Sesame exactly as it does.
import { readFileSync } from 'node:fs';

/**
 * The flags between `node` and `bin/sesame.js` in package.json's `start` script. The container's command and
 * `npm run playground` carry the same ones (test/deploy-files.test.ts); the bin's shebang stays a plain `node`,
 * since `env -S` is missing from BusyBox and some BSDs and `npx sesame policy check` must run everywhere.
 */
export function sesameNodeFlags(root: string): string[] {
  const scripts = (JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  const flags = /^node(?<flags>(?: -\S+)*) bin\/sesame\.js start$/.exec(scripts.start ?? '')?.groups?.flags;
  if (flags === undefined) throw new Error(`package.json's start script is not "node [flags] bin/sesame.js start": ${scripts.start ?? '(none)'}`);
  return flags.split(' ').filter(Boolean);
}
