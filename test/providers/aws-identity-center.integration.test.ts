// The aws_identity_center provider through the official SDK against the Identity Center stand-in: async provisioning, standing assignments, throttling, refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import { awsIdentityCenterProvider } from '../../src/providers/aws-identity-center.ts';
import { noUsergroups } from '../support/fakes.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { AWS_BLOCK } from '../support/provider-cases.ts';
import { IdentityCenterStandIn } from '../support/stand-ins/aws-identity-center.ts';

const KEY_ID = 'AKIATESTTESTTEST0000';

describe('aws_identity_center provider', () => {
  const aws = new IdentityCenterStandIn(KEY_ID);
  beforeAll(async () => {
    await aws.start();
    Object.assign(process.env, { AWS_ENDPOINT_URL: aws.url, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: 'test-secret', AWS_REGION: 'eu-central-1' });
  });
  afterAll(() => aws.stop());

  const provider = () => awsIdentityCenterProvider.create(awsIdentityCenterProvider.schema.parse(AWS_BLOCK), { env: {}, usergroups: noUsergroups });
  const assignedTo = (principal: string) => aws.hasAssignment(AWS_BLOCK.account_id, AWS_BLOCK.permission_set_arn, principal);
  const grant = async (p: ReturnType<typeof provider>, identity: string): Promise<GrantSubject> => {
    const subject = aSubject({ identity });
    const { state } = await p.grant(subject);
    return { ...subject, providerState: state ?? null };
  };

  it('waits for provisioning to succeed before calling the assignment granted, and again for its removal', async () => {
    const id = aws.addUser('alice', 'alice@corp.example');
    aws.pollsUntilDone = 3;
    try {
      const p = provider();
      const subject = await grant(p, 'alice@corp.example');
      expect(assignedTo(id)).toBe(true);
      expect(subject.providerState).toEqual({ principal_id: id, standing: false });
      expect(aws.targets.filter((t) => t.endsWith('DescribeAccountAssignmentCreationStatus'))).toHaveLength(3);
      await p.revoke(subject);
      expect(assignedTo(id)).toBe(false);
      expect(await p.check?.(subject)).toBe('absent');
    } finally {
      aws.pollsUntilDone = 1;
    }
  });

  it('finds users by user name as well as by email, as settings.identities may name them', async () => {
    const id = aws.addUser('bob.builder', 'bob@corp.example');
    const p = provider();
    const subject = await grant(p, 'bob.builder');
    expect(assignedTo(id)).toBe(true);
    await p.revoke(subject);
  });

  it('leaves an assignment that was there before the grant', async () => {
    const id = aws.addUser('carol', 'carol@corp.example');
    aws.assignments.add(`${AWS_BLOCK.account_id}|${AWS_BLOCK.permission_set_arn}|${id}`);
    const p = provider();
    const subject = await grant(p, 'carol@corp.example');
    expect(subject.providerState).toEqual({ principal_id: id, standing: true });
    await p.revoke(subject);
    expect(assignedTo(id)).toBe(true);
    expect(await p.check?.(subject)).toBe('absent'); // the assignment is not the grant's
  });

  it('follows NextToken through every page of assignments', async () => {
    const others = Array.from({ length: 5 }, (_, i) => aws.addUser(`filler${i}`, `filler${i}@corp.example`));
    for (const id of others) aws.assignments.add(`${AWS_BLOCK.account_id}|${AWS_BLOCK.permission_set_arn}|${id}`);
    const p = provider();
    const subject = await grant(p, 'filler4@corp.example');
    expect(subject.providerState).toMatchObject({ standing: true });
  });

  it('retries throttling and server errors (the SDK backs off), then grants', async () => {
    aws.addUser('dave', 'dave@corp.example');
    aws.failNext({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' }, { status: 500, type: 'InternalServerException' });
    const subject = await grant(provider(), 'dave@corp.example');
    expect(aws.failuresLeft).toBe(0);
    expect(await provider().check?.(subject)).toBe('present');
  });

  it('fails permanently with AWS’s reason when provisioning fails', async () => {
    aws.addUser('erin', 'erin@corp.example');
    aws.failProvisioning = 'Received a 404 status error: The permission set is not provisioned to the account.';
    const failure = await provider().grant(aSubject({ identity: 'erin@corp.example' })).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: false, message: 'AWS could not assign permission set ps-0123456789abcdef on account 111122223333: Received a 404 status error: The permission set is not provisioned to the account.' });
  });

  it('refuses an unknown person and denied credentials, saying what to fix', async () => {
    const unknown = await provider().grant(aSubject({ identity: 'nobody@corp.example' })).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ retryable: false, message: 'identity store d-0123456789 has no user named or emailed nobody@corp.example; fix settings.identities or the user\'s Identity Center profile' });

    aws.addUser('frank', 'frank@corp.example');
    process.env.AWS_ACCESS_KEY_ID = aws.deniedKeyId;
    try {
      const denied = await provider().grant(aSubject({ identity: 'frank@corp.example' })).catch((e: unknown) => e);
      expect(denied).toMatchObject({ retryable: false, message: expect.stringMatching(/^AWS denied Sesame's credentials to look up frank@corp\.example in identity store d-0123456789 \(.*\); see the least-privilege policy in docs\/providers\.md$/) });
    } finally {
      process.env.AWS_ACCESS_KEY_ID = KEY_ID;
    }
  });

  it('refuses a block with malformed ARNs or account ids, naming the field', () => {
    const issues = awsIdentityCenterProvider.schema.safeParse({ ...AWS_BLOCK, account_id: '1234', instance_arn: 'ssoins-1' }).error?.issues.map((i) => i.path.join('.'));
    expect(issues).toEqual(['instance_arn', 'account_id']);
  });
});
