// The server's log gathers lines into blocks, yet a line never waits long, and nothing is lost when the process exits.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// A process that logs through createLogger; each line on its standard input is an instruction.
const CHILD = `
import { createLogger } from './src/logging.ts';
const log = createLogger('info');
log.info({ token: 'xoxb-secret' }, 'started');
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  if (text.includes('exit')) {
    log.info('last words');
    process.exit(0);
  }
});
`;

describe('log output', () => {
  it('writes a lone line within a second, redacts secrets, and writes what is gathered on exit', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text;
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      const until = Date.now() + 20_000;
      while (!out.includes('"msg":"started"') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      // Far below the block size: only the periodic flush can have written it, and the process is still running.
      expect(out).toContain('"msg":"started"');
      expect(child.exitCode).toBeNull();
      expect(out).toContain('"token":"[Redacted]"');
      expect(out).not.toContain('xoxb-secret');
      child.stdin.write('exit\n');
      expect(await exited).toBe(0);
      expect(out).toContain('"msg":"last words"');
    } finally {
      child.kill();
    }
  }, 30_000);
});
