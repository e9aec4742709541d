// Closing the HTTP server while a client keeps sending on a kept-alive connection: the connection ends after the answer
// in hand, so close() finishes (before, each new request on it was served and close() waited until the client stopped).
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.ts';

describe('the HTTP server at shutdown', () => {
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: 1 });
  afterAll(() => agent.close());

  it('ends a kept-alive connection after the request in flight, so close() completes while the client goes on sending', async () => {
    let served = 0;
    const server = createHttpServer({
      // A slow Slack handler: a request is always in flight when close() is called.
      slack: (_req, res) => {
        served++;
        setTimeout(() => res.end('{}'), 200);
      },
      readiness: async () => ({ ready: true, checks: {} }),
      metrics: new Registry(),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

    const answers: { status: number; connection: string | undefined }[] = [];
    let sending = true;
    const client = (async () => {
      while (sending) {
        const answer = await request(url, { dispatcher: agent, method: 'POST', body: 'x' }).catch(() => null);
        if (answer === null) break; // the connection is gone and nothing listens any more: what a client then sees
        await answer.body.text();
        answers.push({ status: answer.statusCode, connection: answer.headers.connection as string | undefined });
      }
    })();
    while (served === 0) await new Promise((r) => setTimeout(r, 10));

    const closedIn = await new Promise<number>((resolve) => {
      const started = Date.now();
      server.close(() => resolve(Date.now() - started));
    });
    sending = false;
    await client;

    // Without the change the client kept the connection busy and close() never called back: this wait timed out.
    expect(closedIn).toBeLessThan(5_000);
    expect(answers.length).toBeGreaterThanOrEqual(1);
    // The answer that was in flight at close() told the client to drop the connection.
    expect(answers.at(-1)).toEqual({ status: 200, connection: 'close' });
    expect(answers.slice(0, -1).every((a) => a.connection !== 'close')).toBe(true);
  });
});
