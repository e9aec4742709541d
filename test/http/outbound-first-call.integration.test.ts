// The first outbound call of a process waits for undici to load; a deadline (or a caller's abort) that passes
// meanwhile must still stop it, though undici was not yet listening for it. Run in a fresh process, where undici
// really is still loading (inside the test runner it may already be cached).
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const OUTBOUND = fileURLToPath(new URL('../../src/http/outbound.ts', import.meta.url));

describe('the first outbound call of a process', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let url = '';

  beforeAll(async () => {
    server = createServer(() => undefined); // takes the request and never answers
    server.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/silent`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const firstCall = async (how: 'deadline' | 'caller') => {
    const script = `
      import { send } from ${JSON.stringify(OUTBOUND)};
      const caller = new AbortController();
      const call = send(${JSON.stringify(url)}, { method: 'POST', body: '{}', timeoutMs: ${how === 'deadline' ? 1 : 60_000}, signal: caller.signal });
      if (${JSON.stringify(how)} === 'caller') setTimeout(() => caller.abort(new Error('the caller gave up')), 1);
      const hanging = new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000).unref());
      console.log(await Promise.race([call.then(() => 'answered', (error) => error.name + ': ' + error.message), hanging]));
      process.exit(0);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 });
    return stdout.trim();
  };

  it('gives up at a deadline that passes while undici is still loading', async () => {
    expect(await firstCall('deadline')).toMatch(/^TimeoutError: 127\.0\.0\.1:\d+ did not answer before the 0\.001 s timeout$/);
  });

  it("gives up when the caller aborts while undici is still loading, with the caller's reason", async () => {
    expect(await firstCall('caller')).toBe('Error: the caller gave up');
  });
});
