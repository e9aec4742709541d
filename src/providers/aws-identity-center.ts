// The `aws_identity_center` provider: an account assignment (user × permission set × account) for the window, provisioned and verified.
import type { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import type { AccountAssignmentOperationStatus, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { z } from 'zod';
import { identityAttributeSchema } from '../core/identity.ts';
import type { GrantSubject, Provider } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { errorMessage } from '../core/retry.ts';
import { identityCenterFindings } from './aws-identity-center-doctor.ts';
import { defineProvider } from './provider-module.ts';
import { loadIdentityCenterSdk } from './sdks.ts';

const schema = z
  .object({
    type: z.literal('aws_identity_center'),
    instance_arn: z.string().regex(/^arn:aws[a-z-]*:sso:::instance\/(sso)?ins-[a-zA-Z0-9-.]{16}$/, 'must be an Identity Center instance ARN like arn:aws:sso:::instance/ssoins-1234567890abcdef'),
    identity_store_id: z.string().regex(/^d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be an identity store id like d-1234567890'),
    account_id: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id (quoted, so YAML keeps leading zeros)'),
    permission_set_arn: z.string().regex(/^arn:aws[a-z-]*:sso:::permissionSet\/(sso)?ins-[a-zA-Z0-9-.]{16}\/ps-[a-zA-Z0-9-./]{16}$/, 'must be a permission set ARN like arn:aws:sso:::permissionSet/ssoins-…/ps-…'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like eu-central-1'),
    /** How the Identity Store user is found when settings.identities has no "aws" entry. @defaultValue email */
    identity: identityAttributeSchema.default('email'),
  })
  .strict();
type Config = z.output<typeof schema>;

/** What a grant remembers: the Identity Store user it assigned, and whether that assignment was there before. */
const stateSchema = z.object({ principal_id: z.string(), standing: z.boolean() });
type State = z.output<typeof stateSchema>;

/** Provisioning usually takes seconds; past this the attempt fails retryably and the core tries again. */
const PROVISIONING_DEADLINE_MS = 120_000;
const FIRST_POLL_MS = 250;
const MAX_POLL_MS = 5_000;

/** AWS error names no retry fixes (https://docs.aws.amazon.com/singlesignon/latest/APIReference/CommonErrors.html). */
const PERMANENT = new Set(['AccessDeniedException', 'ValidationException', 'ResourceNotFoundException', 'UnrecognizedClientException', 'InvalidSignatureException', 'ServiceQuotaExceededException']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function createIdentityCenterProvider(config: Config): Provider {
  const where = `permission set ${config.permission_set_arn.split('/').at(-1)} on account ${config.account_id}`;
  let clients: { admin: SSOAdminClient; store: IdentitystoreClient } | undefined;
  // Credentials and endpoint come from the standard AWS chain and AWS_ENDPOINT_URL; the SDK retries throttling itself.
  const sdk = async () => {
    const { admin: SsoAdmin, store: IdentityStore } = await loadIdentityCenterSdk();
    clients ??= { admin: new SsoAdmin.SSOAdminClient({ region: config.region, maxAttempts: 4 }), store: new IdentityStore.IdentitystoreClient({ region: config.region, maxAttempts: 4 }) };
    return { ...clients, SsoAdmin, IdentityStore };
  };
  const target = { InstanceArn: config.instance_arn, TargetId: config.account_id, TargetType: 'AWS_ACCOUNT' as const, PermissionSetArn: config.permission_set_arn, PrincipalType: 'USER' as const };

  const failure = (what: string, cause: unknown): ProviderError => {
    if (cause instanceof ProviderError) return cause;
    const name = cause instanceof Error ? cause.name : '';
    if (name === 'AccessDeniedException') {
      return new ProviderError(`AWS denied Sesame's credentials to ${what} (${errorMessage(cause)}); see the least-privilege policy in docs/providers.md`, false, { cause });
    }
    return new ProviderError(`AWS IAM Identity Center could not ${what}: ${name ? `${name}: ` : ''}${errorMessage(cause)}`, !PERMANENT.has(name), { cause });
  };
  const call = async <T>(what: string, request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (cause) {
      throw failure(what, cause);
    }
  };

  /** The Identity Store user id for a name: by user name first, then by primary email. */
  const principalOf = async (identity: string): Promise<string | null> => {
    for (const AttributePath of ['userName', 'emails.value']) {
      try {
        const { store, IdentityStore } = await sdk();
        const { UserId } = await store.send(new IdentityStore.GetUserIdCommand({ IdentityStoreId: config.identity_store_id, AlternateIdentifier: { UniqueAttribute: { AttributePath, AttributeValue: identity } } }));
        if (UserId) return UserId;
      } catch (cause) {
        if (!(cause instanceof Error && cause.name === 'ResourceNotFoundException')) throw failure(`look up ${identity} in identity store ${config.identity_store_id}`, cause);
      }
    }
    return null;
  };

  const assigned = (principalId: string) =>
    call(`list the assignments of ${where}`, async () => {
      let NextToken: string | undefined;
      do {
        const { admin, SsoAdmin } = await sdk();
        const page = await admin.send(new SsoAdmin.ListAccountAssignmentsCommand({ InstanceArn: config.instance_arn, AccountId: config.account_id, PermissionSetArn: config.permission_set_arn, NextToken }));
        if (page.AccountAssignments?.some((a) => a.PrincipalType === 'USER' && a.PrincipalId === principalId)) return true;
        NextToken = page.NextToken;
      } while (NextToken);
      return false;
    });

  /** Waits for an asynchronous create or delete to finish; FAILED carries AWS's reason. */
  const settled = async (what: string, first: AccountAssignmentOperationStatus | undefined, describe: (requestId: string) => Promise<AccountAssignmentOperationStatus | undefined>) => {
    const deadline = Date.now() + PROVISIONING_DEADLINE_MS;
    let status = first;
    for (let wait = FIRST_POLL_MS; status?.Status === 'IN_PROGRESS'; wait = Math.min(wait * 2, MAX_POLL_MS)) {
      if (Date.now() + wait > deadline) throw new ProviderError(`AWS was still provisioning (${what}) after ${PROVISIONING_DEADLINE_MS / 1000} s; Sesame will check again`, true);
      await sleep(wait);
      const requestId = status.RequestId ?? '';
      status = await call(`read the status of ${what}`, () => describe(requestId));
    }
    if (status?.Status !== 'SUCCEEDED') throw new ProviderError(`AWS could not ${what}: ${status?.FailureReason ?? `status ${status?.Status ?? 'missing'}`}`, false);
  };

  const create = async (principalId: string) => {
    const what = `assign ${where}`;
    const started = await call(what, async () => {
      const { admin, SsoAdmin } = await sdk();
      return admin.send(new SsoAdmin.CreateAccountAssignmentCommand({ ...target, PrincipalId: principalId }));
    });
    await settled(what, started.AccountAssignmentCreationStatus, async (id) => {
      const { admin, SsoAdmin } = await sdk();
      return (await admin.send(new SsoAdmin.DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: config.instance_arn, AccountAssignmentCreationRequestId: id }))).AccountAssignmentCreationStatus;
    });
  };

  const remove = async (principalId: string) => {
    const what = `remove the assignment of ${where}`;
    const started = await call(what, async () => {
      const { admin, SsoAdmin } = await sdk();
      return admin.send(new SsoAdmin.DeleteAccountAssignmentCommand({ ...target, PrincipalId: principalId }));
    });
    await settled(what, started.AccountAssignmentDeletionStatus, async (id) => {
      const { admin, SsoAdmin } = await sdk();
      return (await admin.send(new SsoAdmin.DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: config.instance_arn, AccountAssignmentDeletionRequestId: id }))).AccountAssignmentDeletionStatus;
    });
  };

  const identityOf = (subject: Pick<GrantSubject, 'identity'>): string => {
    if (subject.identity === null) throw new ProviderError('the aws_identity_center provider was called without an identity; this is a bug in Sesame', false);
    return subject.identity;
  };
  const stateOf = (subject: GrantSubject): State | null => stateSchema.safeParse(subject.providerState).data ?? null;

  return {
    identity: { table: 'aws', attribute: config.identity, provider: `the aws_identity_center provider (account ${config.account_id})` },
    // Identity Store user names and emails are case-insensitive: two spellings must count as one assignment.
    accessKey: (subject) => `aws_identity_center:${config.instance_arn}:${config.account_id}:${config.permission_set_arn}:${identityOf(subject).toLowerCase()}`,

    async grant(subject) {
      const identity = identityOf(subject);
      const principalId = await principalOf(identity);
      if (principalId === null) {
        throw new ProviderError(`identity store ${config.identity_store_id} has no user named or emailed ${identity}; fix settings.identities or the user's Identity Center profile`, false);
      }
      const standing = await assigned(principalId);
      if (!standing) await create(principalId);
      return { state: { principal_id: principalId, standing } };
    },

    async revoke(subject) {
      const state = stateOf(subject);
      if (state?.standing) return;
      // Without a record (interrupted before it was stored) look the user up again; removal is the safe side.
      const principalId = state?.principal_id ?? (await principalOf(identityOf(subject)));
      if (principalId === null || !(await assigned(principalId))) return;
      await remove(principalId);
    },

    /** "Present" means the assignment this grant made is still there; one that was there before is not the grant's. */
    async check(subject) {
      const state = stateOf(subject);
      if (state?.standing) return 'absent';
      const principalId = state?.principal_id ?? (await principalOf(identityOf(subject)));
      return principalId !== null && (await assigned(principalId)) ? 'present' : 'absent';
    },

    async close() {
      clients?.admin.destroy();
      clients?.store.destroy();
      clients = undefined;
    },
  };
}

export const awsIdentityCenterProvider = defineProvider({
  schema,
  create: (config) => createIdentityCenterProvider(config),
  doctor: (config) => identityCenterFindings(config),
});
