// Closing the HTTP server while a client keeps sending on a kept-alive connection: the connection ends after the answer
// in hand, so close() finishes (before, each new request on it was served and close() waited until the client stopped).
// At shutdown, connections with no whole request on them are cut; one whose request has arrived is answered first.
import { connect, type AddressInfo, type Socket } from 'node:net';
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

  it('cuts connections without a whole request (silent, half-sent headers or body) and keeps one whose request has arrived until it is answered', async () => {
    let answerSlowly: (() => void) | null = null;
    const server = createHttpServer({
      // A Slack handler still at work (as a modal's is, before its ack) when the cut comes.
      slack: (req, res) => {
        req.resume();
        req.once('end', () => (answerSlowly = () => res.end('{"done":true}')));
      },
      readiness: async () => ({ ready: true, checks: {} }),
      metrics: new Registry(),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const opened = (first: string) =>
      new Promise<Socket>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => (first ? socket.write(first, () => resolve(socket)) : resolve(socket)));
        socket.on('error', () => undefined);
      });
    const silent = await opened('');
    const halfHeaders = await opened('POST /slack/events HTTP/1.1\r\nhost: x\r\n');
    const halfBody = await opened('POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n12345');
    let answer = '';
    // Answered and idle since (not counted as cut), and answered, then half-way through another request's headers.
    const answeredThenIdle = await opened('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    const answeredThenHalf = await opened('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    for (const socket of [answeredThenIdle, answeredThenHalf]) await new Promise((resolve) => socket.once('data', resolve));
    await new Promise<void>((resolve) => answeredThenHalf.write('POST /slack/events HTTP/1.1\r\nhost: x\r\n', () => resolve()));
    const whole = await opened('POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\n12345');
    whole.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const ended = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
    // Every connection is known to the server before the cut.
    while (await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n))) < 6) await new Promise((r) => setTimeout(r, 10));
    while (answerSlowly === null) await new Promise((r) => setTimeout(r, 10));
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // As at shutdown, the cut comes a while after close() (which itself ends connections idle after their answers).
    await new Promise((r) => setTimeout(r, 200));

    expect(server.cutUnreceived()).toBe(4);
    await Promise.all([ended(silent), ended(halfHeaders), ended(halfBody), ended(answeredThenIdle), ended(answeredThenHalf)]);
    expect(whole.destroyed).toBe(false);

    (answerSlowly as () => void)();
    await ended(whole);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('{"done":true}');
    await closed;
  });

  it('answers pipelined requests in order and ends the connection after the last; one pipelined after close() is not acted on', async () => {
    const bodies: string[] = [];
    const answers: (() => void)[] = [];
    const server = createHttpServer({
      slack: (req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.once('end', () => {
          bodies.push(body);
          answers.push(() => res.end(`{"body":"${body}"}`));
        });
      },
      readiness: async () => ({ ready: true, checks: {} }),
      metrics: new Registry(),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const post = (body: string) => `POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    let received = '';
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(post('AAA') + post('BBB'));
    while (bodies.length < 2) await new Promise((r) => setTimeout(r, 10));

    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    expect(server.cutUnreceived()).toBe(0);
    const third = new Promise<void>((resolve) => server.once('request', () => resolve()));
    socket.write(post('CCC'));
    await third;
    for (const answer of answers) answer();
    await ended;
    await closed;

    // C came after close() behind unanswered requests: never handed to Slack's handler, and the connection ended
    // with B's answer, so its client sees no answer and sends it again elsewhere (nothing was done for it).
    expect(bodies).toEqual(['AAA', 'BBB']);
    const heads = received.split(/(?=HTTP\/1\.1 )/);
    expect(heads.map((head) => head.split('\r\n')[0])).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    // Only the last answer in hand at the cut ends the connection, so none queued before it is lost.
    expect(heads.map((head) => /connection: close/i.test(head))).toEqual([false, true]);
    expect(received).toContain('{"body":"AAA"}');
    expect(received).toContain('{"body":"BBB"}');
  });

  it('forgets the answers owed on a connection that dies, pipelined ones included, so shutdown does not wait for them', async () => {
    let handled = 0;
    const server = createHttpServer({
      // Never answers: the client goes away first.
      slack: (req) => {
        handled++;
        req.resume();
      },
      readiness: async () => ({ ready: true, checks: {} }),
      metrics: new Registry(),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const post = (body: string) => `POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(post('AAA') + post('BBB'));
    while (handled < 2) await new Promise((r) => setTimeout(r, 10));
    expect(server.unansweredCount()).toBe(1);

    socket.resetAndDestroy();
    // Node closes the queued second response with neither 'finish' nor 'close'; the connection's close settles it.
    await server.allAnswered();
    expect(server.unansweredCount()).toBe(0);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
});
