// The outage log's rules, with a hand-driven clock: one line per outage, stragglers folded in, other errors still said.
import { describe, expect, it } from 'vitest';
import { createOutageLog } from '../../src/scheduler/outage-log.ts';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

function harness() {
  const lines: { level: string; message: string; fields: object }[] = [];
  const record = (level: string) => (fields: object, message: string) => void lines.push({ level, message, fields });
  const state = { down: false, now: 0 };
  const outage = createOutageLog({ info: record('info'), warn: record('warn'), error: record('error') }, 'redis://:pw@127.0.0.1:6379/0', () => state.down, () => state.now);
  return { lines, state, outage };
}

describe('Redis outage log', () => {
  it('says an outage once, counts its errors, and says when it ended', () => {
    const { lines, state, outage } = harness();
    state.down = true;
    for (let i = 0; i < 40; i++) outage.error(`worker ${i % 4}`, refused());
    state.now = 12_000;
    state.down = false;
    outage.recovered();
    expect(lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'error Redis at 127.0.0.1:6379 is unreachable; retrying (revocations fall back to in-process timers and the reconciler until it is back)',
      'info Redis at 127.0.0.1:6379 is back after 12 s (40 connection errors while it was away)',
    ]);
  });

  it('folds the errors of connections still reconnecting just after recovery into the outage that ended', () => {
    const { lines, state, outage } = harness();
    state.down = true;
    outage.error('probe', refused());
    state.down = false;
    outage.recovered();
    state.now += 1_000;
    outage.error('queue revoke', refused());
    expect(lines).toHaveLength(2);
    state.now += 60_000;
    outage.error('queue revoke', refused());
    expect(lines.at(-1)?.message).toMatch(/is unreachable/);
  });

  it('still logs an error that is not about the connection while Redis answers', () => {
    const { lines, outage } = harness();
    outage.error('worker revoke', new Error('Missing lock for job 17'));
    outage.recovered();
    expect(lines).toEqual([{ level: 'warn', message: 'Redis connection problem', fields: { source: 'worker revoke', problem: 'Missing lock for job 17' } }]);
  });
});
