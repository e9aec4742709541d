// SIGTERM while a grant is in flight at a slow provider: `sesame start` finishes it (recorded, requester told) before
// it exits 0, within the 10 s bound; one during start-up stops it gracefully once it is up; clients slow or silent on
// their connections do not hold the stop past its deadline, and a request cut off half-sent does nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, SIGNING_SECRET } from '../support/e2e.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { processDatabase, type ProcessDatabase } from '../support/process-database.ts';
import { freePort, spawnSesame, untilReady } from '../support/sesame-process.ts';
import { SlackSigner } from '../support/signed-client.ts';

const REDIS_DB = 12;
const PORT = await freePort();
const PROVIDER_DELAY_MS = 2_000;

describe('SIGTERM with a grant in flight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-sigterm-'));
  const slack = new FakeSlack();
  const redis = new Redis({ host: '127.0.0.1', port: 6379, db: REDIS_DB });
  const hits: string[] = [];
  // A webhook receiver that takes its time over every call, then says yes.
  const slowHook: Server = createServer((req, res) => {
    hits.push(String(req.headers['x-sesame-event']));
    req.resume();
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), PROVIDER_DELAY_MS);
  });
  let env: NodeJS.ProcessEnv;
  let db: ProcessDatabase;

  beforeAll(async () => {
    await slack.start();
    slack.usergroups.set('S0ENG', [PEOPLE.engineer]);
    await redis.flushdb();
    db = await processDatabase(dir);
    await new Promise<void>((resolve) => slowHook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(slowHook.address() as AddressInfo).port}/hook`;
    const changes = { resources: { ...NOOP_PROVIDERS?.resources, 'prod-db': { tier: 'low', roles: { read: { tier: 'low' } }, provider: { type: 'webhook', url: hookUrl, secret_env: 'HOOK_SECRET' } } } } as Parameters<typeof aPolicyInput>[0];
    writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput(changes)));
    env = {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: 'xoxb-sigterm-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(PORT),
      ...db.env,
      POLICY_PATH: join(dir, 'policy.yaml'),
      REDIS_URL: `redis://127.0.0.1:6379/${REDIS_DB}`,
      HOOK_SECRET: 'sigterm-hook-secret',
      LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    await db?.close();
    slowHook.closeAllConnections();
    await new Promise((resolve) => slowHook.close(resolve));
    await redis.flushdb();
    redis.disconnect();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes, records and answers the acknowledged grant, then exits 0', async () => {
    const sesame = spawnSesame(['start'], env);
    try {
      await untilReady(sesame, PORT);
      const signer = new SlackSigner(`http://127.0.0.1:${PORT}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));
      const sent = await signer.command('request prod-db read 1h deploy check', { user: PEOPLE.engineer });
      await slack.waitFor(() => hits.includes('grant') || slack.responsesTo(sent.responseId)[0], 'the provider to be asked').catch((e: unknown) => {
        throw new Error(`${String(e)}\n${sesame.output()}`);
      });
      expect(slack.responsesTo(sent.responseId)).toEqual([]);

      sesame.child.kill('SIGTERM');
      expect(await sesame.exited()).toBe(0);

      expect(String(slack.responsesTo(sent.responseId)[0]?.text)).toMatch(/^✅ Granted: `prod-db` `read`/);
      expect(await db.sql.all('SELECT state FROM grants')).toEqual([{ state: 'active' }]);
      expect(await db.sql.get("SELECT count(*) AS n FROM audit_log WHERE action = 'grant.activated'")).toEqual({ n: 1 });
    } finally {
      if (sesame.child.exitCode === null) sesame.child.kill('SIGKILL');
    }
  }, 60_000);
  it('cuts connections that are silent or slow to send, exits 0, and a request cut off half-sent does nothing', async () => {
    const sesame = spawnSesame(['start'], env);
    const sockets: Socket[] = [];
    const open = (first: string) =>
      new Promise<Socket>((resolve, reject) => {
        const socket = connect(PORT, '127.0.0.1', () => (first ? socket.write(first, () => resolve(socket)) : resolve(socket)));
        socket.on('error', () => undefined).once('close', () => reject(new Error('closed before it was written to')));
        sockets.push(socket);
      });
    try {
      await untilReady(sesame, PORT);
      const signer = new SlackSigner(`http://127.0.0.1:${PORT}/slack/events`, SIGNING_SECRET, (id) => slack.responseUrl(id));
      const { body, responseId } = signer.commandBody('request prod-db read 1h sent slowly', { user: PEOPLE.engineer });
      const signed = signer.sign(body, 'application/x-www-form-urlencoded');
      const head = ['POST /slack/events HTTP/1.1', 'host: 127.0.0.1', `content-length: ${Buffer.byteLength(body)}`, ...Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
      const requestsBefore = await db.sql.get('SELECT count(*) AS n FROM requests');
      const grantsAsked = hits.filter((hit) => hit === 'grant').length;
      // Connected and silent; headers begun and never finished; a whole signed request but its body's last bytes.
      await open('');
      await open('POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\n');
      const slowBody = await open(`${head}\r\n\r\n${body.slice(0, -8)}`);
      // Answered only once Sesame has accepted it, and so the three before it (connections are accepted in order).
      expect((await fetch(`http://127.0.0.1:${PORT}/healthz`)).status).toBe(200);

      sesame.child.kill('SIGTERM');
      await slack.waitFor(() => sesame.output().includes('were cut at shutdown') || sesame.child.exitCode !== null, 'Sesame to cut the open connections');
      if (!slowBody.destroyed) slowBody.write(body.slice(-8));
      expect(await sesame.exited()).toBe(0);

      expect(sesame.output()).toContain('were cut at shutdown');
      expect(await db.sql.get('SELECT count(*) AS n FROM requests')).toEqual(requestsBefore);
      expect(hits.filter((hit) => hit === 'grant').length).toBe(grantsAsked);
      expect(slack.responsesTo(responseId)).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      if (sesame.child.exitCode === null) sesame.child.kill('SIGKILL');
    }
  }, 60_000);
  it('stops gracefully (exit 0, JSON notices) when SIGTERM comes during start-up', async () => {
    // A Slack that answers only after a pause, so the signal lands while Sesame is still starting.
    let asked = 0;
    const slowSlack = createServer((req, res) => {
      asked++;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        setTimeout(() => {
          void fetch(`${slack.apiUrl}${(req.url ?? '/').replace(/^\//, '')}`, { method: req.method, headers: { 'content-type': String(req.headers['content-type'] ?? ''), authorization: String(req.headers.authorization ?? '') }, body: Buffer.concat(chunks) })
            .then(async (answer) => res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text()))
            .catch(() => res.writeHead(502).end());
        }, 1_000);
      });
    });
    await new Promise<void>((resolve) => slowSlack.listen(0, '127.0.0.1', resolve));
    const sesame = spawnSesame(['start'], { ...env, LOG_LEVEL: 'info', SLACK_API_URL: `http://127.0.0.1:${(slowSlack.address() as AddressInfo).port}/` });
    try {
      await slack.waitFor(() => asked > 0 || sesame.child.exitCode !== null, 'Sesame to ask Slack during start-up');
      sesame.child.kill('SIGTERM');
      expect(await sesame.exited()).toBe(0);
      const lines = sesame.output().trim().split('\n').map((line) => JSON.parse(line) as { msg: string; signal?: string });
      const messages = lines.map((line) => line.msg);
      expect(messages).toContain('stopping as soon as start-up has finished');
      expect(messages.indexOf('Sesame is running')).toBeGreaterThan(messages.indexOf('stopping as soon as start-up has finished'));
      expect(messages.at(-1)).toBe('stopped');
    } finally {
      if (sesame.child.exitCode === null) sesame.child.kill('SIGKILL');
      slowSlack.closeAllConnections();
      await new Promise((resolve) => slowSlack.close(resolve));
    }
  }, 60_000);
});
