// Grant subjects for calling providers directly, with ids unlikely to collide across test files and runs.
import { randomInt } from 'node:crypto';
import type { GrantSubject } from '../../src/core/ports.ts';

export function aSubject(overrides: Partial<GrantSubject> = {}): GrantSubject {
  const n = randomInt(100_000, 999_999_999);
  return {
    grantId: `G${n}`,
    requestId: `R${n}`,
    user: { slackId: 'U0ENG1', email: 'eng1@example.com' },
    identity: null,
    resource: 'prod-db',
    role: 'read',
    reason: 'INC-42 debugging',
    startsAt: new Date('2026-11-23T09:00:00.000Z'),
    expiresAt: new Date(Date.now() + 60 * 60_000),
    breakglass: false,
    provider: { type: 'noop' },
    providerState: null,
    ...overrides,
  };
}
