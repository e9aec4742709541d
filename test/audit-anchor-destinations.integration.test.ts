// Anchors kept where the bot token cannot rewrite them: a warn-level log line and a signed POST to anchor_url, every
// anchor_every and at every break-glass use.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAnchorPoster } from '../src/audit-anchor.ts';
import { auditEntryHash } from '../src/store/audit.ts';
import { SqliteStore } from '../src/store/repositories.ts';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from './support/e2e.ts';
import { silentLogger } from './support/fakes.ts';
import { tempDb } from './support/temp-db.ts';

const SECRET = 'anchor-test-secret-42';

interface Received {
  body: string;
  signature: string;
}

/** A receiver on loopback that keeps what it was sent; `status` is what it answers. */
async function anchorReceiver(): Promise<{ server: Server; url: string; received: Received[]; status: { code: number } }> {
  const received: Received[] = [];
  const status = { code: 200 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-sesame-signature'] ?? '') });
      res.writeHead(status.code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/anchors`, received, status };
}

/** Checks the signature as a receiver written from the documentation would, without Sesame's own helper. */
function signedCorrectly({ body, signature }: Received, nowSeconds: number): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
  if (!match) return false;
  const expected = createHmac('sha256', SECRET).update(`${match[1]}.${body}`).digest('hex');
  return expected === match[2] && Math.abs(nowSeconds - Number(match[1])) <= 300;
}

/** A pino logger at `level` whose JSON lines are kept. */
function capturedLogger(level: string): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level }, stream), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('anchors outside Slack', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('POSTs the head to anchor_url, signed t=…,v1=…, and retries a destination that failed even when the head is unchanged', async () => {
    const receiver = await anchorReceiver();
    cleanups.push(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));
    const temp = tempDb();
    cleanups.push(() => temp.cleanup());
    const store = new SqliteStore(temp.db, () => 'a'.repeat(64));
    const poster = createAnchorPoster({ auditLog: store.auditLog, log: silentLogger, intervalMs: () => 3_600_000, post: async () => false, target: () => ({ url: receiver.url, secret: SECRET }) });
    await store.audit(new Date(), { actor: 'U1', action: 'policy.loaded' });

    receiver.status.code = 503;
    await poster.postNow();
    expect(receiver.received).toHaveLength(1);
    receiver.status.code = 200;
    await poster.postNow();
    await poster.postNow(); // delivered now: nothing more to send
    expect(receiver.received).toHaveLength(2);

    const last = receiver.received[1] as Received;
    expect(signedCorrectly(last, Date.now() / 1000)).toBe(true);
    expect(JSON.parse(last.body)).toEqual({ anchor: `1:${auditEntryHash(temp.db.$client, 1)}`, id: 1, hash: auditEntryHash(temp.db.$client, 1), at: expect.any(String), reason: 'interval' });
  });

  it('keeps ticking, with a warning, when the head cannot be read', async () => {
    const temp = tempDb();
    cleanups.push(() => temp.cleanup());
    const store = new SqliteStore(temp.db, () => 'a'.repeat(64));
    const warnings: string[] = [];
    const poster = createAnchorPoster({ auditLog: store.auditLog, log: { ...silentLogger, warn: (_fields, message) => void warnings.push(message) }, intervalMs: () => 10, post: async () => false, target: () => null });
    temp.db.$client.close(); // as when the database goes away under a running timer
    poster.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(warnings.filter((w) => w === 'could not take an audit anchor').length).toBeGreaterThanOrEqual(2);
    await expect(poster.stop()).rejects.toThrow();
  });

  describe('in the running app', () => {
    let e: E2E;
    const start = async (settings: Record<string, string>, log: Logger, env: Record<string, string> = {}) => {
      e = await startE2E({ ...NOOP_PROVIDERS, settings }, { log, env });
      cleanups.push(() => e.stop());
    };
    const slackAnchors = () => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === 'C0AUDIT' && String(c.text).includes('Audit anchor')).map((c) => String(c.text));
    const headOf = async () => (await e.sql.get('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1')) as { id: number; hash: string };

    it('anchors every settings.anchor_every to the warn-level log, the audit channel and anchor_url', async () => {
      const receiver = await anchorReceiver();
      cleanups.push(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));
      const logged = capturedLogger('warn');
      await start({ anchor_every: '1s', anchor_url: receiver.url, anchor_secret_env: 'E2E_ANCHOR_SECRET' }, logged.log, { E2E_ANCHOR_SECRET: SECRET });

      await e.signer.command('request sandbox 1h anchor me', { user: PEOPLE.engineer });
      await e.slack.waitFor(() => e.sql.get("SELECT 1 FROM audit_log WHERE action = 'grant.activated'"), 'the grant');
      const head = await headOf();
      const anchor = `${head.id}:${head.hash}`;
      const posted = await e.slack.waitFor(() => receiver.received.find((r) => r.body.includes(anchor)), 'the anchor at anchor_url');
      expect(signedCorrectly(posted, Date.now() / 1000)).toBe(true);
      await e.slack.waitFor(() => slackAnchors().find((t) => t.includes(anchor)), 'the anchor in the audit channel');
      expect(logged.lines().find((l) => l.anchor === anchor)).toMatchObject({ level: 40, msg: 'audit anchor', reason: 'interval' });
    });

    it('anchors at a break-glass use at once, without waiting for the interval', async () => {
      await start({ anchor_every: '1d' }, pino({ level: 'silent' }));
      const text = await e.signer.command('breakglass prod-db write 1h INC-42 primary is down', { user: PEOPLE.oncall, channel: 'C0INC42' }).then((sent) => e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'the reply'));
      expect(String(text.text)).toMatch(/^✅ Granted/);
      const used = (await e.sql.get("SELECT id FROM audit_log WHERE action = 'breakglass.used'")) as { id: number };
      const anchored = await e.slack.waitFor(() => slackAnchors().map((t) => Number(/`(\d+):/.exec(t)?.[1])).find((id) => id >= used.id), 'an anchor covering the break-glass entry');
      expect(anchored).toBeGreaterThanOrEqual(used.id);
    });
  });
});
