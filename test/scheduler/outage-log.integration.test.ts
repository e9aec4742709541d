// Redis going away and coming back, with BullMQ's connections all retrying: two log lines for the outage, not hundreds.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createBullScheduler } from '../../src/scheduler/bullmq-scheduler.ts';
import { deleteKeys } from '../support/e2e.ts';
import { OwnRedis } from '../support/own-redis.ts';

interface Line {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis outage log', () => {
  const redis = new OwnRedis();
  afterAll(() => redis.stop());

  it('logs one line when Redis goes away and one, with the count of connection errors, when it is back', async () => {
    await redis.start();
    const lines: Line[] = [];
    const record = (level: Line['level']) => (fields: object, message: string) => void lines.push({ level, fields: fields as Record<string, unknown>, message });
    const scheduler = createBullScheduler({ redisUrl: redis.url, prefix: `sesame-outage-${randomUUID()}`, log: { info: record('info'), warn: record('warn'), error: record('error') } });
    try {
      expect(await scheduler.connected(10_000)).toBe(true);
      lines.length = 0;

      await redis.stop();
      const lost = await until(() => lines.find((l) => l.message.includes('is unreachable')), 'the outage line');
      // Several seconds down: every queue connection and the probe retry many times meanwhile.
      await new Promise((r) => setTimeout(r, 2_000));
      await redis.start();
      const back = await until(() => lines.find((l) => l.message.includes(' is back after ')), 'the recovery line');

      expect(lost).toMatchObject({ level: 'error', message: expect.stringMatching(/^Redis at 127\.0\.0\.1:\d+ is unreachable; retrying/) });
      expect(back.level).toBe('info');
      expect(back.message).toMatch(/^Redis at 127\.0\.0\.1:\d+ is back after \d+ s \(\d+ connection errors while it was away\)$/);
      expect(back.fields.errors).toBeGreaterThan(1);
      expect(lines.filter((l) => l.level !== 'info')).toEqual([lost]);
    } finally {
      await scheduler.close();
    }
  });
});

describe('shutting down', () => {
  it('says nothing about connections it cuts itself, even one still mid-handshake', { timeout: 60_000 }, async () => {
    const lines: Line[] = [];
    const record = (level: Line['level']) => (fields: object, message: string) => void lines.push({ level, fields: fields as Record<string, unknown>, message });
    const log = { info: record('info'), warn: record('warn'), error: record('error') };
    const redisUrl = 'redis://127.0.0.1:6379/9';
    const prefix = `sesame-close-${randomUUID()}`;
    try {
      // Closed at every moment of its start-up: before the first connect, during the handshake, just after ready.
      for (let i = 0; i < 40; i++) {
        const scheduler = createBullScheduler({ redisUrl, prefix: `${prefix}-${i}`, log });
        await new Promise((r) => setTimeout(r, i % 8));
        await scheduler.close();
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
    } finally {
      // A queue that got as far as connecting wrote its meta key into the shared Redis; none is left behind.
      await deleteKeys(`${prefix}-*`, redisUrl);
    }
  });
});
