// The gcp_iam provider through the googleapis client and ADC against the Cloud Resource Manager stand-in: conditions, etags, conflicts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import { gcpIamProvider } from '../../src/providers/gcp-iam.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { GcpStandIn } from '../support/stand-ins/gcp.ts';

const ROLE = 'roles/cloudsql.client';

describe('gcp_iam provider', () => {
  const gcp = new GcpStandIn();
  const env: Record<string, string | undefined> = {};
  beforeAll(async () => {
    await gcp.start();
    gcp.useAsAdc(process.env);
    env.CLOUD_RESOURCE_MANAGER_URL = process.env.CLOUD_RESOURCE_MANAGER_URL;
  });
  afterAll(() => gcp.stop());
  beforeEach(() => {
    gcp.addResource('projects/payments-prod', [
      { role: ROLE, members: ['user:alice@corp.example'] }, // alice's standing access, not Sesame's
      { role: 'roles/logging.viewer', members: ['group:sre@corp.example'] },
    ]);
    gcp.addResource('folders/4242');
  });

  const provider = (block: Record<string, unknown> = { project: 'payments-prod' }) =>
    gcpIamProvider.create(gcpIamProvider.schema.parse({ type: 'gcp_iam', role: ROLE, ...block }), { env, usergroups: noUsergroups });
  const subject = (overrides: Partial<GrantSubject> = {}) => aSubject({ identity: 'alice@corp.example', ...overrides });

  it('adds a binding with an expiry condition titled with the grant id, and removes only it at revoke', async () => {
    const p = provider();
    const s = subject();
    await p.grant(s);
    expect(gcp.bindingsOf('projects/payments-prod')).toContainEqual({
      role: ROLE,
      members: ['user:alice@corp.example'],
      condition: { title: `sesame ${s.grantId}`, description: `Sesame grant ${s.grantId} (prod-db read)`, expression: `request.time < timestamp("${s.expiresAt.toISOString()}")` },
    });
    expect(gcp.policies.get('projects/payments-prod')?.version).toBe(3);
    await p.revoke(s);
    // The standing, unconditional binding of the same person and role stays, and so does everyone else's.
    expect(gcp.bindingsOf('projects/payments-prod')).toEqual([
      { role: ROLE, members: ['user:alice@corp.example'] },
      { role: 'roles/logging.viewer', members: ['group:sre@corp.example'] },
    ]);
    expect(await p.check?.(s)).toBe('absent');
  });

  it('redoes the read-modify-write when someone else changed the policy first, keeping their change', async () => {
    const p = provider();
    const s = subject();
    gcp.concurrentEdits = 2;
    await p.grant(s);
    expect(gcp.calls.filter((c) => c.endsWith(':setIamPolicy')).length).toBeGreaterThanOrEqual(3);
    expect(await p.check?.(s)).toBe('present');
    expect(gcp.bindingsOf('projects/payments-prod')).toHaveLength(3);
  });

  it('gives up retryably, with a sentence, when the policy keeps changing', async () => {
    gcp.concurrentEdits = 50;
    const failure = await provider().grant(subject()).catch((e: unknown) => e);
    gcp.concurrentEdits = 0;
    expect(failure).toMatchObject({ retryable: true, message: expect.stringMatching(/^the IAM policy of projects\/payments-prod kept changing while Sesame tried to grant roles\/cloudsql\.client to user:alice@corp\.example; Sesame will try again$/) });
  });

  it('rewrites the condition when the grant is extended, so Google ends it later', async () => {
    const p = provider({ folder: '4242' });
    const s = subject({ identity: 'bob@corp.example' });
    await p.grant(s);
    const later = new Date(s.expiresAt.getTime() + 2 * 3_600_000);
    await p.extend?.({ ...s, expiresAt: later });
    expect(gcp.bindingsOf('folders/4242')).toEqual([expect.objectContaining({ condition: expect.objectContaining({ expression: `request.time < timestamp("${later.toISOString()}")` }) })]);
    await p.revoke(s);
    expect(gcp.bindingsOf('folders/4242')).toEqual([]);
  });

  it('refuses basic roles and a block naming no or two resources, saying why', () => {
    const issues = (block: Record<string, unknown>) => gcpIamProvider.schema.safeParse({ type: 'gcp_iam', ...block }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ project: 'payments-prod', role: 'roles/editor' })).toEqual([
      'role: basic roles (owner, editor, viewer) do not accept IAM conditions, so Google could not end them at expiry; use a predefined or custom role',
    ]);
    expect(issues({ project: 'payments-prod', folder: '1', role: ROLE })).toEqual(['project: name exactly one of project, folder or organization']);
  });

  it('fails a refused request permanently and an unavailable service retryably', async () => {
    gcp.failNext({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(await provider().grant(subject()).catch((e: unknown) => e)).toMatchObject({ retryable: false, message: expect.stringContaining('Google refused to read the IAM policy on projects/payments-prod') });
    gcp.failNext({ code: 503, status: 'UNAVAILABLE' });
    expect(await provider().grant(subject()).catch((e: unknown) => e)).toMatchObject({ retryable: true, message: 'Google did not read the IAM policy on projects/payments-prod (503); Sesame will try again' });
  });
});
