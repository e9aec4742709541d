// The receiver example in docs/providers.md, run as its own node process against the real webhook provider:
// what the docs tell customers to write must accept Sesame's calls and refuse a replayed one.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookProvider, webhookSignature } from '../../src/providers/webhook.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';

const SECRET = 'docs-example-secret';

function exampleFromDocs(): string {
  const docs = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8');
  const code = /A receiver in Node[\s\S]*?```js\n([\s\S]*?)```/.exec(docs)?.[1];
  if (!code) throw new Error('docs/providers.md has no receiver example');
  return code;
}

describe('the documented webhook receiver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-receiver-'));
  let child: ChildProcess;
  let url = '';

  beforeAll(async () => {
    writeFileSync(join(dir, 'receiver.mjs'), exampleFromDocs());
    child = spawn(process.execPath, [join(dir, 'receiver.mjs')], { env: { ...process.env, SESAME_WEBHOOK_SECRET: SECRET, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const found = /listening on (\d+)/.exec(out)?.[1];
        if (found) resolve(found);
      });
      child.on('exit', (code) => reject(new Error(`the example exited with ${code}`)));
    });
    url = `http://127.0.0.1:${port}/hook`;
  });
  afterAll(() => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts signed grants, revokes and checks from Sesame', async () => {
    const provider = webhookProvider.create(webhookProvider.schema.parse({ type: 'webhook', url, secret_env: 'HOOK', check: true }), { env: { HOOK: SECRET }, usergroups: noUsergroups });
    const subject = aSubject();
    expect(await provider.grant(subject)).toEqual({ message: 'connect with: ssh bastion.example.com' });
    expect(await provider.check?.(subject)).toBe('present');
    await provider.revoke(subject);
    expect(await provider.check?.(subject)).toBe('absent');
  });

  it('refuses a call signed more than 5 minutes ago, a wrong key, and a grant replayed after its revoke', async () => {
    const body = JSON.stringify({ event: 'grant', grant_id: 'G424242' });
    const post = (signature: string, payload = body) => fetch(url, { method: 'POST', headers: { 'x-sesame-signature': signature }, body: payload }).then((r) => r.status);
    expect(await post(webhookSignature(SECRET, body, new Date(Date.now() - 6 * 60_000)))).toBe(401);
    expect(await post(webhookSignature('another-key', body))).toBe(401);
    expect(await post(webhookSignature(SECRET, body))).toBe(200);

    const check = async () => {
      const query = 'grant_id=G424242';
      const res = await fetch(`${url}?${query}`, { headers: { 'x-sesame-signature': webhookSignature(SECRET, query) } });
      return ((await res.json()) as { present: boolean }).present;
    };
    expect(await check()).toBe(true);
    const revoke = JSON.stringify({ event: 'revoke', grant_id: 'G424242' });
    expect(await post(webhookSignature(SECRET, revoke), revoke)).toBe(200);
    expect(await post(webhookSignature(SECRET, body))).toBe(200); // the replayed grant is answered, but grants nothing
    expect(await check()).toBe(false);
  });
});
