// Outbound HTTP over undici's request API, and the fetch-shaped adapter the Web API client and Bolt's respond() use, against a real loopback server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOutbound, send } from '../../src/http/outbound.ts';
import { timedFetch } from '../../src/slack/slack-api.ts';
import { LoopbackServer } from '../support/loopback-server.ts';

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Answers by path: what a Slack, a webhook or a response_url may do. */
class Peer extends LoopbackServer {
  readonly seen: Seen[] = [];
  rateLimitedOnce = true;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? '/';
    this.seen.push({ method: req.method ?? '', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    if (path === '/silent') return; // never answers
    if (path === '/stalls') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the start of an answer that never ends');
      return;
    }
    if (path === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 64; i++) res.write('x'.repeat(1024));
      res.end();
      return;
    }
    if (path === '/moved') {
      res.writeHead(302, { location: '/elsewhere' }).end();
      return;
    }
    if (path === '/api/chat.postMessage' && this.rateLimitedOnce) {
      this.rateLimitedOnce = false;
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"ok":false,"error":"ratelimited"}');
      return;
    }
    if (path.startsWith('/api/')) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-oauth-scopes': 'chat:write, users:read' });
      res.end(JSON.stringify({ ok: true, channel: 'C1', ts: '1.000100' }));
      return;
    }
    res.writeHead(path === '/fail' ? 503 : 200, { 'content-type': 'text/plain', 'x-twice': ['a', 'b'] }).end(path === '/fail' ? 'down' : 'ok');
  }
}

describe('outbound HTTP', () => {
  let peer: Peer;
  beforeAll(async () => {
    peer = await new Peer().start();
  });
  afterAll(async () => {
    await peer.stop();
  });

  it('sends the method, headers and body, and returns status, headers and text', async () => {
    const answer = await send(`${peer.url}/hook?x=1`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sesame-event': 'grant' }, body: '{"a":1}', timeoutMs: 2_000 });
    expect(answer).toMatchObject({ status: 200, statusText: 'OK', text: 'ok', url: `${peer.url}/hook?x=1` });
    expect(answer.headers['x-twice']).toEqual(['a', 'b']);
    expect(peer.seen.at(-1)).toMatchObject({ method: 'POST', path: '/hook?x=1', body: '{"a":1}', headers: { 'x-sesame-event': 'grant' } });
  });

  it('returns a failing status and does not follow a redirect', async () => {
    expect((await send(`${peer.url}/fail`, { method: 'GET', timeoutMs: 2_000 })).status).toBe(503);
    const moved = await send(`${peer.url}/moved`, { method: 'GET', timeoutMs: 2_000 });
    expect(moved.status).toBe(302);
    expect(peer.seen.some((s) => s.path === '/elsewhere')).toBe(false);
  });

  it('gives up at the deadline with a TimeoutError that names the host', async () => {
    const error = await send(`${peer.url}/silent`, { method: 'POST', body: '{}', timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    expect((error as Error).message).toBe(`127.0.0.1:${peer.port} did not answer before the 0.2 s timeout`);
  });

  it('gives up at the deadline while the answer is still coming, with the same TimeoutError', async () => {
    const error = await send(`${peer.url}/stalls`, { method: 'GET', timeoutMs: 300 }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect((error as Error).message).toBe(`127.0.0.1:${peer.port} did not answer before the 0.3 s timeout`);
  });

  it('gives up at the deadline while a capped answer (a webhook\'s) is still coming, with the same TimeoutError', async () => {
    const error = await send(`${peer.url}/stalls`, { method: 'GET', timeoutMs: 300, maxBytes: 1_000 }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect((error as Error).message).toBe(`127.0.0.1:${peer.port} did not answer before the 0.3 s timeout`);
  });

  it('gives up when the caller aborts, with the caller\'s reason', async () => {
    const controller = new AbortController();
    const pending = send(`${peer.url}/silent`, { method: 'POST', body: '{}', timeoutMs: 5_000, signal: controller.signal });
    controller.abort(new Error('the caller stopped waiting'));
    await expect(pending).rejects.toThrow('the caller stopped waiting');
  });

  it('reads no more than maxBytes of an answer', async () => {
    const answer = await send(`${peer.url}/big`, { method: 'GET', timeoutMs: 2_000, maxBytes: 1_000 });
    expect(answer.text).toBe('x'.repeat(1_000));
  });

  it('rejects with the connection error when nothing listens', async () => {
    const closed = await new Peer().start();
    const url = closed.url;
    await closed.stop();
    await expect(send(url, { method: 'GET', timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('the fetch the Web API client and Bolt use', () => {
  let peer: Peer;
  beforeAll(async () => {
    // Until undici has loaded (start-up), calls go through fetch; these check the path they take afterwards.
    await loadOutbound();
    peer = await new Peer().start();
  });
  afterAll(async () => {
    await peer.stop();
  });

  it('carries a real WebClient call, its scopes header, and a 429 it waits out', async () => {
    const client = new WebClient('xoxb-test', { slackApiUrl: `${peer.url}/api/`, logLevel: LogLevel.ERROR, fetch: timedFetch(2_000), retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 } });
    const result = await client.chat.postMessage({ channel: 'C1', text: 'hello', blocks: [{ type: 'divider' }] });
    expect(result).toMatchObject({ ok: true, ts: '1.000100', response_metadata: { scopes: ['chat:write', 'users:read'] } });
    const calls = peer.seen.filter((s) => s.path === '/api/chat.postMessage');
    expect(calls).toHaveLength(2); // the 429, then the retry after Retry-After
    const form = new URLSearchParams(calls[1]?.body);
    expect(form.get('text')).toBe('hello');
    expect(JSON.parse(form.get('blocks') ?? 'null')).toEqual([{ type: 'divider' }]);
    expect(calls[1]?.headers.authorization).toBe('Bearer xoxb-test');
  });

  it('answers like fetch for respond(): ok, status and text', async () => {
    const fetch = timedFetch(2_000);
    const ok = await fetch(`${peer.url}/response/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
    expect([ok.ok, ok.status, await ok.text(), ok.headers.get('content-type')]).toEqual([true, 200, 'ok', 'text/plain']);
    const failed = await fetch(`${peer.url}/fail`, { method: 'POST', body: '{}' });
    expect([failed.ok, failed.status, failed.statusText]).toEqual([false, 503, 'Service Unavailable']);
  });

  it('leaves other requests (a GET, a form upload) to fetch, with the same deadline', async () => {
    const fetch = timedFetch(200);
    const got = await fetch(`${peer.url}/plain`);
    expect(await got.text()).toBe('ok');
    const form = new FormData();
    form.append('file', new Blob(['content']), 'a.txt');
    await expect(fetch(`${peer.url}/silent`, { method: 'POST', body: form })).rejects.toThrow(/timeout|aborted/i);
  });
});
