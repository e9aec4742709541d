// settings.audit_stream end to end: requests through signed Slack traffic reach a SIEM receiver complete, in order and
// verifiable, across a receiver that hangs, fails and is down, and across a Sesame restart; lag shows while it is behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExportedEntry } from '../src/store/audit.ts';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from './support/e2e.ts';
import { SiemReceiver } from './support/siem-receiver.ts';
import { expectChainVerifies, expectResentOnlyAfterFailedAcks, firstCopies } from './support/stream-checks.ts';

const SECRET = 'e2e-audit-stream-key';

describe('audit stream, end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-stream-'));
  let receiver: SiemReceiver;
  afterAll(async () => {
    await receiver?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const startSesame = (url: string): Promise<E2E> =>
    startE2E(
      { ...NOOP_PROVIDERS, settings: { audit_stream: { url, secret_env: 'AUDIT_STREAM_KEY', batch: 2, timeout: '5s', warn_lag: 3 } } },
      { dir, env: { AUDIT_STREAM_KEY: SECRET }, start: { auditStreamBackoff: { baseMs: 50, maxMs: 200 } } },
    );
  const inDatabase = (e: E2E): Promise<ExportedEntry[]> => e.auditExport();
  const granted = async (e: E2E, user: string, reason: string): Promise<string> => {
    const sent = await e.signer.command(`request sandbox 1h ${reason}`, { user });
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `the reply to ${reason}`)).text);
  };
  const lagMetric = async (e: E2E): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${e.sesame.port}/metrics`)).text();
    return Number(/^sesame_audit_stream_lag_entries (\d+)$/m.exec(text)?.[1]);
  };
  const readyz = async (e: E2E) => {
    const res = await fetch(`http://127.0.0.1:${e.sesame.port}/readyz`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; warnings?: { audit_stream?: string } } };
  };

  const eventually = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('delivers every entry exactly in chain order, through a hanging, failing and absent receiver and a restart', async () => {
    receiver = await new SiemReceiver(SECRET).start();
    const url = receiver.url;
    let e = await startSesame(url);
    try {
      expect(await granted(e, PEOPLE.engineer, 'first')).toContain('Granted');
      expect(await granted(e, PEOPLE.engineer2, 'second')).toContain('Granted');
      await e.slack.waitFor(async () => firstCopies(receiver.stored).length === (await inDatabase(e)).length, 'every entry at the receiver');
      expect(receiver.stored).toEqual(await inDatabase(e));
      expect(receiver.posts.every((p) => p.signatureValid && p.entries.length <= 2)).toBe(true);
      await eventually(async () => (await lagMetric(e)) === 0, 'no lag');

      // The receiver stops answering: a request still completes while a POST hangs.
      receiver.mode = 'hang';
      expect(await granted(e, PEOPLE.oncall, 'while it hangs')).toContain('Granted');
      const hanging = await e.slack.waitFor(() => receiver.posts.find((p) => p.status === null), 'a hanging POST');
      expect(await granted(e, PEOPLE.security, 'still while it hangs')).toContain('Granted');
      expect(hanging.status).toBeNull(); // answered while the POST it woke is still waiting for the receiver

      // Then it fails outright: the lag is a metric, and past warn_lag a /readyz warning, while Sesame stays ready.
      receiver.mode = 'fail';
      await eventually(async () => (await lagMetric(e)) > 3, 'a lag past warn_lag');
      const ready = await readyz(e);
      expect(ready.status).toBe(200);
      expect(ready.body.ready).toBe(true);
      expect(ready.body.warnings?.audit_stream).toMatch(/^the audit stream to 127\.0\.0\.1:\d+ is \d+ entries behind/);
      expect((await e.verifyChain()).ok).toBe(true);
    } finally {
      await e.stop(); // during the outage: what is not acknowledged stays after the cursor
    }

    // Sesame restarts while the receiver is down altogether, writes more, and the receiver comes back.
    await receiver.stop();
    e = await startSesame(url);
    try {
      expect(await granted(e, PEOPLE.lead1, 'after the restart')).toContain('Granted');
      expect((await readyz(e)).body.warnings?.audit_stream).toContain('entries behind');
      receiver.mode = 'ok';
      await receiver.restart();
      const all = await inDatabase(e);
      await e.slack.waitFor(() => firstCopies(receiver.stored).length >= all.length, 'every entry at the receiver after the restart');
      expect(firstCopies(receiver.stored)).toEqual(all);
      expect(all.map((x) => x.action)).toContain('policy.loaded');
      expectResentOnlyAfterFailedAcks(receiver);
      expectChainVerifies(firstCopies(receiver.stored));
      await eventually(async () => (await lagMetric(e)) === 0 && (await readyz(e)).body.warnings === undefined, 'the warning gone');
    } finally {
      await e.stop();
    }
  });
});
