// Two processes end one grant at the same instant (a revoke job and a sweep): only the transition that applied is audited.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { accessHarness, PEOPLE, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const run = promisify(execFile);
const WORKER = fileURLToPath(new URL('../support/end-race-worker.ts', import.meta.url));
const SECRET_ENV = 'RACE_HOOK_SECRET';

/** Waits for `condition`, bounded generously so a slow machine does not fail the test. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 10) {
    if (waited > 15_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a revoke job racing the reconciler', () => {
  let h: Harness | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await h?.cleanup();
  });

  it('writes one grant.expired and no grant.revoke_failed, and alerts nobody, when the loser\'s revoke fails after the winner ended the grant', async () => {
    // A customer endpoint that is not idempotent: the first revoke succeeds, a second one for the same grant fails.
    // It holds the first until the second has arrived (both really in flight), and fails the second only once
    // the first has been recorded, which is exactly the interleaving that used to produce a false alarm.
    let revokes = 0;
    const grantState = async () => (await h?.sql.get<{ state: string }>('SELECT state FROM grants WHERE id = 1'))?.state;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.headers['x-sesame-event'] !== 'revoke') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        const nth = ++revokes;
        const answer =
          nth === 1
            ? until(() => revokes >= 2, 'the second revoke').then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
            : until(async () => (await grantState()) === 'expired', 'the first revoke to be recorded').then(() => res.writeHead(500).end('no such grant'));
        answer.catch(() => res.writeHead(504).end());
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    h = await accessHarness(aLoadedPolicy({ resources: { sandbox: { provider: { type: 'webhook', url, secret_env: SECRET_ENV } } } }));
    // Granted in the test clock's past, so by the wall clock the workers read it is long due.
    const granted = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', duration: 3_600_000, reason: 'race' });
    expect(granted.value?.kind).toBe('granted');
    expect(await grantState()).toBe('active');

    const startAt = String(Date.now() + 2_500);
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    const results = await Promise.all([0, 1].map(() => run(process.execPath, ['--import', 'tsx', WORKER, h?.opened.location ?? '', '1', startAt, SECRET_ENV], { cwd })));
    const outcomes = results.map((r) => JSON.parse(r.stdout) as { kind: string; events: string[] });

    expect(revokes).toBeGreaterThanOrEqual(2);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['ended', 'not_live']);
    expect(outcomes.flatMap((o) => o.events)).toEqual(['grant_ended']);
    const actions = (await h.auditActions());
    expect(actions.filter((a) => a === 'grant.expired')).toHaveLength(1);
    expect(actions).not.toContain('grant.revoke_failed');
    expect(await grantState()).toBe('expired');
    expect((await h.opened.verifyChain()).ok).toBe(true);
  }, 60_000);
});
