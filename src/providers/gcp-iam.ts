// The `gcp_iam` provider: a conditional IAM binding per grant that Google itself ends at expiry, removed at revoke.
import type { cloudresourcemanager_v3 } from '@googleapis/cloudresourcemanager';
import { z } from 'zod';
import { identityAttributeSchema } from '../core/identity.ts';
import type { GrantSubject, Provider } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { errorMessage } from '../core/retry.ts';
import { gcpClientFor, resourceNameOf, statusOf, type GcpClient } from './gcp-client.ts';
import { gcpFindings } from './gcp-iam-doctor.ts';
import { defineProvider } from './provider-module.ts';

const BASIC_ROLES = new Set(['roles/owner', 'roles/editor', 'roles/viewer']);

const schema = z
  .object({
    type: z.literal('gcp_iam'),
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^\d+$/, 'must be a project id like my-project-123').optional(),
    folder: z.string().regex(/^\d+$/, 'must be a numeric folder id').optional(),
    organization: z.string().regex(/^\d+$/, 'must be a numeric organization id').optional(),
    role: z
      .string()
      .regex(/^(roles|projects\/[^/]+\/roles|organizations\/\d+\/roles)\/[A-Za-z0-9_.]+$/, 'must be a role like roles/storage.objectViewer')
      .refine((r) => !BASIC_ROLES.has(r), 'basic roles (owner, editor, viewer) do not accept IAM conditions, so Google could not end them at expiry; use a predefined or custom role'),
    /** How the Google account is found when settings.identities has no "gcp" entry. @defaultValue email */
    identity: identityAttributeSchema.default('email'),
  })
  .strict()
  .refine((c) => [c.project, c.folder, c.organization].filter((x) => x !== undefined).length === 1, { message: 'name exactly one of project, folder or organization', path: ['project'] });
type Config = z.output<typeof schema>;
type Policy = cloudresourcemanager_v3.Schema$Policy;
type Binding = cloudresourcemanager_v3.Schema$Binding;

/** Concurrent edits of one policy are normal (other tools, other grants); each retry re-reads it. */
const MAX_CONFLICT_RETRIES = 5;

/** The condition title ties a binding to exactly one grant. */
export const conditionTitleOf = (subject: Pick<GrantSubject, 'grantId'>): string => `sesame ${subject.grantId}`;
export const expressionOf = (expiresAt: Date): string => `request.time < timestamp("${expiresAt.toISOString()}")`;

function createGcpIamProvider(config: Config, env: Readonly<Record<string, string | undefined>>): Provider {
  const resource = resourceNameOf(config);
  let client: GcpClient | undefined;
  const api = async () => (client ??= await gcpClientFor(config, env)).collection;

  const failure = (what: string, cause: unknown): ProviderError => {
    if (cause instanceof ProviderError) return cause;
    const status = statusOf(cause);
    const detail = errorMessage(cause);
    if (status === 403) return new ProviderError(`Google refused to let Sesame ${what} on ${resource} (${detail}); give its service account roles/resourcemanager.projectIamAdmin there (or a role with getIamPolicy and setIamPolicy)`, false, { cause });
    if (status === 404) return new ProviderError(`Google has no ${resource} that Sesame can see; fix provider.${resource.split('/')[0]?.replace(/s$/, '')}`, false, { cause });
    if (status === 400) return new ProviderError(`Google refused to ${what} on ${resource}: ${detail}`, false, { cause });
    if (status === 401) return new ProviderError(`Google did not accept Sesame's credentials to ${what} (${detail}); check its Application Default Credentials`, false, { cause });
    return new ProviderError(`Google did not ${what} on ${resource} (${status ?? detail}); Sesame will try again`, true, { cause });
  };

  const read = async (): Promise<Policy> => {
    try {
      // Version 3, or Google hides conditional bindings and refuses to write them back.
      return (await (await api()).getIamPolicy({ resource, requestBody: { options: { requestedPolicyVersion: 3 } } })).data;
    } catch (cause) {
      throw failure('read the IAM policy', cause);
    }
  };

  /** Read-modify-write guarded by the policy's etag: a 409 means someone else wrote first, so read again and redo. */
  const change = async (what: string, edit: (bindings: Binding[]) => Binding[] | null): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const policy = await read();
      const bindings = edit(policy.bindings ?? []);
      if (bindings === null) return; // nothing to change
      try {
        await (await api()).setIamPolicy({ resource, requestBody: { policy: { ...policy, version: 3, bindings }, updateMask: 'bindings,etag' } });
        return;
      } catch (cause) {
        if (statusOf(cause) === 409 && attempt < MAX_CONFLICT_RETRIES) continue;
        if (statusOf(cause) === 409) throw new ProviderError(`the IAM policy of ${resource} kept changing while Sesame tried to ${what}; Sesame will try again`, true, { cause });
        throw failure(what, cause);
      }
    }
  };

  const memberOf = (subject: Pick<GrantSubject, 'identity'>): string => {
    if (subject.identity === null) throw new ProviderError('the gcp_iam provider was called without a Google account; this is a bug in Sesame', false);
    return `user:${subject.identity}`;
  };
  const isOurs = (subject: GrantSubject) => (b: Binding) => b.role === config.role && b.condition?.title === conditionTitleOf(subject);
  const bindingOf = (subject: GrantSubject): Binding => ({
    role: config.role,
    members: [memberOf(subject)],
    condition: { title: conditionTitleOf(subject), description: `Sesame grant ${subject.grantId} (${subject.resource} ${subject.role})`, expression: expressionOf(subject.expiresAt) },
  });
  /** Writes this grant's binding with its current expiry, replacing an earlier one of the same grant (a retry, an extension). */
  const put = (what: string, subject: GrantSubject) =>
    change(what, (bindings) => {
      const ours = bindings.find(isOurs(subject));
      const wanted = bindingOf(subject);
      if (ours && ours.condition?.expression === wanted.condition?.expression && ours.members?.length === 1 && ours.members[0] === wanted.members?.[0]) return null;
      return [...bindings.filter((b) => !isOurs(subject)(b)), wanted];
    });

  return {
    identity: { table: 'gcp', attribute: config.identity, provider: `the gcp_iam provider (${resource})` },

    async grant(subject) {
      await put(`grant ${config.role} to ${memberOf(subject)}`, subject);
      return {};
    },

    async revoke(subject) {
      await change(`remove ${config.role} from ${memberOf(subject)}`, (bindings) => (bindings.some(isOurs(subject)) ? bindings.filter((b) => !isOurs(subject)(b)) : null));
    },

    /** "Present" until Google's own expiry passes too: the binding is there and names this member. */
    async check(subject) {
      const ours = (await read()).bindings?.find(isOurs(subject));
      return ours?.members?.includes(memberOf(subject)) ? 'present' : 'absent';
    },

    async extend(subject) {
      await put(`move the end of ${config.role} for ${memberOf(subject)}`, subject);
    },
  };
}

export const gcpIamProvider = defineProvider({
  schema,
  create: (config, { env }) => createGcpIamProvider(config, env),
  doctor: (config, { env }) => gcpFindings(config, env),
});
