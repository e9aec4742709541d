// Second adversarial pass (attack2) on the replay guard's wait for its FIRST Redis connection attempt. Redis is up the
// whole time; only the restarted process's first connection is slow (a busy Redis answering its ready check late, a
// slow network or TLS handshake). A signed request already handled by another replica is replayed to the restarted one
// inside that window: with a 500 ms wait it fell back to its (empty) process memory and acted; it now waits for the
// first attempt (its 2 s connect timeout). And the other side: once connected, a reconnect must not stall requests.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReplayGuard, type ReplayGuard } from '../../src/slack/replay-guard.ts';
import { silentLogger } from '../support/fakes.ts';
import { OwnRedis } from '../support/own-redis.ts';

/**
 * A TCP proxy to Redis that accepts at once and forwards only after `delayMs`: a slow first connection. While
 * `refusing` says so it drops each connection at once instead, as a Redis still starting refuses it.
 */
function slowProxy(redisPort: number, delayMs: () => number, refusing: () => boolean = () => false): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (refusing()) return void client.destroy();
    sockets.add(client);
    client.pause();
    client.on('error', () => undefined);
    setTimeout(() => {
      const up = connect(redisPort, '127.0.0.1');
      up.on('error', () => client.destroy());
      sockets.add(up);
      client.pipe(up);
      up.pipe(client);
      client.resume();
    }, delayMs());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, sockets })));
}

describe('attack2: replay guard with a slow first Redis connection', () => {
  const redis = new OwnRedis();
  const prefix = `sesame-attack2-${randomUUID()}`;
  const guards: ReplayGuard[] = [];
  let proxy: Awaited<ReturnType<typeof slowProxy>>;
  let delay = 1_500;
  let refusing = false;
  beforeAll(async () => {
    await redis.start();
    proxy = await slowProxy(redis.port, () => delay, () => refusing);
  });
  afterAll(async () => {
    await Promise.all(guards.map((g) => g.close()));
    for (const s of proxy.sockets) s.destroy();
    await new Promise((r) => proxy.server.close(r));
    await redis.stop();
  });

  // Was a known gap: ioredis applied the guard's 500 ms command deadline to its own ready check, so a first connection
  // that answered later failed and the first requests fell back to the empty process memory. Each SET has it now.
  it('a replay delivered to a just-restarted replica whose first connection takes 1.5 s is caught: the first request waits for it', async () => {
    const handled = createReplayGuard({ redisUrl: redis.url, prefix, log: silentLogger });
    guards.push(handled);
    const key = `sig:${randomUUID()}`;
    expect(await handled.firstTime([key], 300)).toBe(true); // the original request, handled by a healthy replica

    delay = 1_500;
    const restarted = createReplayGuard({ redisUrl: `redis://127.0.0.1:${proxy.port}/0`, prefix, log: silentLogger });
    guards.push(restarted);
    const started = Date.now();
    const replayActs = await restarted.firstTime([key], 300);
    const waitedMs = Date.now() - started;
    // Redis already has the key: the restarted process waits for its first connection (at most its 2 s connect timeout).
    expect(replayActs).toBe(false);
    expect(waitedMs).toBeLessThan(2_500);
  });

  /** A key a healthy process handled, and a guard started behind the proxy while it refuses every connection. */
  async function handledThenRestartedWhileRefused(): Promise<{ key: string; restarted: ReplayGuard }> {
    const handled = createReplayGuard({ redisUrl: redis.url, prefix, log: silentLogger });
    guards.push(handled);
    const key = `sig:${randomUUID()}`;
    expect(await handled.firstTime([key], 300)).toBe(true);
    delay = 0;
    refusing = true;
    const restarted = createReplayGuard({ redisUrl: `redis://127.0.0.1:${proxy.port}/0`, prefix, log: silentLogger });
    guards.push(restarted);
    return { key, restarted };
  }

  // Found by an attack: a first attempt that failed fast (refused, reset) ended the wait at once, though the client
  // reconnected within 50 ms, so a replay to a process started with (or just before) Redis acted.
  it('a replay delivered while the first connection is refused for a moment is caught: the wait spans the reconnects', async () => {
    const { key, restarted } = await handledThenRestartedWhileRefused();
    setTimeout(() => (refusing = false), 300);
    const started = Date.now();
    expect(await restarted.firstTime([key], 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  // Found by the next attack: start-up itself waits for Redis about 2 s, so a wait counted from the guard's creation had
  // run out before the first request came, and a Redis back at 1.9 s was found only at ioredis's next backed-off attempt.
  it('a replay that is the first request, 2 s after start, with Redis back just before, is caught', async () => {
    const { key, restarted } = await handledThenRestartedWhileRefused();
    await new Promise((r) => setTimeout(r, 1_900));
    refusing = false;
    await new Promise((r) => setTimeout(r, 100)); // the process starts listening
    const started = Date.now();
    expect(await restarted.firstTime([key], 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  // Found by the attack after that: with reconnects backing off to 0.5 s apart, a Redis back 1.8-2 s into the first
  // request's wait was tried again only after the wait had ended.
  it('a replay that is the first request, with Redis back 1.85 s into its wait, is caught', async () => {
    const { key, restarted } = await handledThenRestartedWhileRefused();
    const started = Date.now();
    const replay = restarted.firstTime([key], 300);
    setTimeout(() => (refusing = false), 1_850);
    expect(await replay).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  // Found by the same attack: with no command timeout on the client, a Redis that accepts and never answers held every
  // request 2 s for as long as it lasted, and the client never tried again.
  it('held: a first connection that never answers costs the first requests 2 s at most, later ones nothing, and is made again', async () => {
    const handled = createReplayGuard({ redisUrl: redis.url, prefix, log: silentLogger });
    guards.push(handled);
    delay = 10_000; // accepted, then silent
    const restarted = createReplayGuard({ redisUrl: `redis://127.0.0.1:${proxy.port}/0`, prefix, log: silentLogger });
    guards.push(restarted);
    let started = Date.now();
    expect(await restarted.firstTime([`sig:${randomUUID()}`], 300)).toBe(true); // this process's memory
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(Date.now() - started).toBeLessThan(3_000);
    started = Date.now();
    const key = `sig:${randomUUID()}`;
    expect(await restarted.firstTime([key], 300)).toBe(true);
    expect(await restarted.firstTime([key], 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(300);
    delay = 0; // the next connection answers: the guard uses Redis again, so another process's keys count here
    const until = Date.now() + 10_000;
    for (;;) {
      const seenElsewhere = `sig:${randomUUID()}`;
      expect(await handled.firstTime([seenElsewhere], 300)).toBe(true);
      if (!(await restarted.firstTime([seenElsewhere], 300))) break;
      if (Date.now() > until) throw new Error('the guard never used Redis again after its silent first connection');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 20_000);

  it('held: a connected Redis that stops answering costs a request its 0.5 s deadline, and the repeat is still caught here', async () => {
    const guard = createReplayGuard({ redisUrl: redis.url, prefix, log: silentLogger });
    guards.push(guard);
    expect(await guard.firstTime([`warm-${randomUUID()}`], 60)).toBe(true);
    const admin = new Redis(redis.url);
    try {
      await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE'); // every write waits two seconds
      const key = `sig:${randomUUID()}`;
      const started = Date.now();
      expect(await guard.firstTime([key], 60)).toBe(true);
      const waitedMs = Date.now() - started;
      expect(waitedMs).toBeGreaterThanOrEqual(450);
      expect(waitedMs).toBeLessThan(1_500);
      expect(await guard.firstTime([key], 60)).toBe(false);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }
  });

  it('held: once connected, a dropped connection does not stall requests while it reconnects', async () => {
    delay = 0;
    const guard = createReplayGuard({ redisUrl: `redis://127.0.0.1:${proxy.port}/0`, prefix, log: silentLogger });
    guards.push(guard);
    expect(await guard.firstTime([`warm-${randomUUID()}`], 60)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    delay = 3_000; // the reconnect will be slow
    for (const s of proxy.sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const key = `sig:${randomUUID()}`;
    expect(await guard.firstTime([key], 60)).toBe(true);
    expect(await guard.firstTime([key], 60)).toBe(false); // still caught in this process
    expect(Date.now() - started).toBeLessThan(300);
  });
});
