// The `kubernetes` provider: one RoleBinding (or ClusterRoleBinding) per grant, named after it, deleted at revoke.
import type { KubeConfig, RbacAuthorizationV1Api, V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import { z } from 'zod';
import { identityAttributeSchema } from '../core/identity.ts';
import type { GrantSubject, Provider } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { errorMessage } from '../core/retry.ts';
import { envVarSchema } from '../policy/fields.ts';
import { kubernetesFindings } from './kubernetes-doctor.ts';
import { defineProvider, requireEnv, type SecretReference } from './provider-module.ts';
import { isKubernetesApiException, loadKubernetes } from './sdks.ts';

/** A DNS-1123 label or subdomain, as Kubernetes names namespaces and roles. */
const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/, 'must be a Kubernetes name (lower case letters, digits, "-", ".")');

const schema = z
  .object({
    type: z.literal('kubernetes'),
    /** A whole kubeconfig (YAML text) in this variable; its current context is used. */
    kubeconfig_env: envVarSchema.optional(),
    server: z.url({ protocol: /^https$/, error: 'must be the API server\'s https:// URL' }).optional(),
    token_env: envVarSchema.optional(),
    /** The cluster CA as PEM text; without it the system's trusted CAs apply. */
    ca_env: envVarSchema.optional(),
    /** Bind within this namespace (a RoleBinding); without it a ClusterRoleBinding. */
    namespace: k8sName.optional(),
    role: k8sName.optional(),
    cluster_role: k8sName.optional(),
    subject_kind: z.enum(['User', 'Group']).default('User'),
    /** How the subject's name is found when settings.identities has no "kubernetes" entry. @defaultValue email */
    identity: identityAttributeSchema.default('email'),
  })
  .strict()
  .refine((c) => (c.kubeconfig_env === undefined) !== (c.server === undefined), { message: 'give either kubeconfig_env, or server with token_env', path: ['server'] })
  .refine((c) => c.server === undefined || c.token_env !== undefined, { message: 'server needs token_env (the service account token)', path: ['token_env'] })
  .refine((c) => (c.role === undefined) !== (c.cluster_role === undefined), { message: 'name exactly one of role or cluster_role', path: ['role'] })
  .refine((c) => c.role === undefined || c.namespace !== undefined, { message: 'a role lives in a namespace: add namespace, or use cluster_role', path: ['namespace'] });
type Config = z.output<typeof schema>;

export const GRANT_LABEL = 'sesame.dev/grant';
export const EXPIRES_ANNOTATION = 'sesame.dev/expires-at';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'sesame' };

/** `sesame-g17`: Kubernetes names are lower case. */
export const bindingNameOf = (subject: Pick<GrantSubject, 'grantId'>): string => `sesame-${subject.grantId.toLowerCase()}`;

type Binding = V1RoleBinding | V1ClusterRoleBinding;

async function clientConfig(config: Config, env: Readonly<Record<string, string | undefined>>): Promise<KubeConfig> {
  const kc = new (await loadKubernetes()).KubeConfig();
  if (config.kubeconfig_env !== undefined) {
    kc.loadFromString(requireEnv(env, config.kubeconfig_env, 'the kubernetes provider'));
    return kc;
  }
  const ca = config.ca_env === undefined ? undefined : Buffer.from(requireEnv(env, config.ca_env, 'the kubernetes provider')).toString('base64');
  kc.loadFromOptions({
    clusters: [{ name: 'sesame', server: config.server, skipTLSVerify: false, ...(ca ? { caData: ca } : {}) }],
    users: [{ name: 'sesame', token: requireEnv(env, config.token_env ?? '', 'the kubernetes provider') }],
    contexts: [{ name: 'sesame', cluster: 'sesame', user: 'sesame' }],
    currentContext: 'sesame',
  });
  return kc;
}

function createKubernetesProvider(config: Config, env: Readonly<Record<string, string | undefined>>): Provider {
  const where = config.namespace === undefined ? 'the cluster' : `namespace ${config.namespace}`;
  const kind = config.namespace === undefined ? 'ClusterRoleBinding' : 'RoleBinding';
  let api: RbacAuthorizationV1Api | undefined;
  const rbac = async () => (api ??= (await clientConfig(config, env)).makeApiClient((await loadKubernetes()).RbacAuthorizationV1Api));

  const ops = {
    create: async (body: Binding) => (config.namespace === undefined ? (await rbac()).createClusterRoleBinding({ body }) : (await rbac()).createNamespacedRoleBinding({ namespace: config.namespace, body })),
    read: async (name: string) => (config.namespace === undefined ? (await rbac()).readClusterRoleBinding({ name }) : (await rbac()).readNamespacedRoleBinding({ name, namespace: config.namespace })),
    replace: async (name: string, body: Binding) =>
      config.namespace === undefined ? (await rbac()).replaceClusterRoleBinding({ name, body }) : (await rbac()).replaceNamespacedRoleBinding({ name, namespace: config.namespace, body }),
    remove: async (name: string) => (config.namespace === undefined ? (await rbac()).deleteClusterRoleBinding({ name }) : (await rbac()).deleteNamespacedRoleBinding({ name, namespace: config.namespace })),
    list: async (): Promise<Binding[]> => {
      const labelSelector = 'app.kubernetes.io/managed-by=sesame';
      return (config.namespace === undefined ? await (await rbac()).listClusterRoleBinding({ labelSelector }) : await (await rbac()).listNamespacedRoleBinding({ namespace: config.namespace, labelSelector })).items;
    },
  };

  /** Runs one API call, turning Kubernetes' answers into sentences; `allow` lists statuses that are answers, not failures. */
  const call = async <T>(what: string, request: () => Promise<T>, allow: number[] = []): Promise<T | number> => {
    try {
      return await request();
    } catch (cause) {
      if (cause instanceof ProviderError) throw cause;
      const status = isKubernetesApiException(cause) ? cause.code : undefined;
      if (status !== undefined && allow.includes(status)) return status;
      throw describe(what, status, cause);
    }
  };

  const describe = (what: string, status: number | undefined, cause: unknown): ProviderError => {
    const detail = statusMessage(cause);
    if (status === 401) return new ProviderError(`the Kubernetes API server refused Sesame's credentials when trying to ${what}; renew the token and restart`, false, { cause });
    if (status === 403) {
      return new ProviderError(`Sesame's service account may not ${what} in ${where} (${detail}); give it create, get, update, list and delete on ${kind.toLowerCase()}s there, and bind on the role`, false, { cause });
    }
    if (status === 404) return new ProviderError(`Kubernetes could not ${what}: ${detail}; check provider.namespace`, false, { cause });
    if (status === 422 || status === 400) return new ProviderError(`Kubernetes refused to ${what}: ${detail}`, false, { cause });
    return new ProviderError(`the Kubernetes API server did not ${what} (${status ?? errorMessage(cause)}); Sesame will try again`, true, { cause });
  };

  const subjectName = (subject: GrantSubject): string => {
    if (subject.identity === null) throw new ProviderError('the kubernetes provider was called without a subject name; this is a bug in Sesame', false);
    return subject.identity;
  };

  const bindingOf = (subject: GrantSubject): Binding => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: {
      name: bindingNameOf(subject),
      ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
      labels: { ...MANAGED_BY, [GRANT_LABEL]: subject.grantId },
      annotations: { [EXPIRES_ANNOTATION]: subject.expiresAt.toISOString(), 'sesame.dev/requester': subject.user.slackId },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: config.role === undefined ? 'ClusterRole' : 'Role', name: config.role ?? config.cluster_role ?? '' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: config.subject_kind, name: subjectName(subject) }],
  });

  const isOurs = (found: Binding, subject: GrantSubject): boolean =>
    found.metadata?.labels?.[GRANT_LABEL] === subject.grantId && found.subjects?.[0]?.name === subjectName(subject) && found.roleRef.name === (config.role ?? config.cluster_role);

  return {
    identity: { table: 'kubernetes', attribute: config.identity, provider: `the kubernetes provider (${where})` },

    async grant(subject) {
      const name = bindingNameOf(subject);
      const created = await call(`create ${kind} ${name}`, () => ops.create(bindingOf(subject)), [409]);
      if (created === 409) {
        // A retry after a lost answer finds its own binding; anything else of that name is not Sesame's to take over.
        const found = await call(`read ${kind} ${name}`, () => ops.read(name));
        if (typeof found === 'number' || !isOurs(found, subject)) {
          throw new ProviderError(`a ${kind} ${name} that Sesame did not make for this grant already exists in ${where}; Sesame left it alone: delete it if it is stale, and request again`, false, { nothingGranted: true });
        }
      }
      return {};
    },

    async revoke(subject) {
      const name = bindingNameOf(subject);
      await call(`delete ${kind} ${name}`, () => ops.remove(name), [404]); // 404: already gone
    },

    async check(subject) {
      const name = bindingNameOf(subject);
      const found = await call(`read ${kind} ${name}`, () => ops.read(name), [404]);
      return typeof found !== 'number' && isOurs(found, subject) ? 'present' : 'absent';
    },

    /** Moves the expiry annotation; a 409 (someone else changed the binding meanwhile) is retried by the core. */
    async extend(subject) {
      const name = bindingNameOf(subject);
      const found = await call(`read ${kind} ${name}`, () => ops.read(name));
      if (typeof found === 'number') return;
      const annotations = { ...found.metadata?.annotations, [EXPIRES_ANNOTATION]: subject.expiresAt.toISOString() };
      const updated = await call(`update ${kind} ${name}`, () => ops.replace(name, { ...found, metadata: { ...found.metadata, annotations } }), [409]);
      if (updated === 409) throw new ProviderError(`${kind} ${name} changed while Sesame moved its expiry; trying again`, true);
    },

    /** Only bindings named and labelled by Sesame for one grant are candidates; others' bindings are never touched. */
    async sweep(isLive) {
      const listed = await call(`list ${kind}s`, () => ops.list());
      const candidates = (typeof listed === 'number' ? [] : listed).filter((b) => {
        const grantId = b.metadata?.labels?.[GRANT_LABEL];
        return grantId !== undefined && b.metadata?.name === `sesame-${grantId.toLowerCase()}`;
      });
      const live = await Promise.all(candidates.map((b) => isLive(b.metadata?.labels?.[GRANT_LABEL] ?? '')));
      const orphans = candidates.filter((_, i) => !live[i]);
      for (const b of orphans) await call(`delete ${kind} ${b.metadata?.name}`, () => ops.remove(b.metadata?.name ?? ''), [404]);
      return orphans.map((b) => b.metadata?.name ?? '');
    },
  };
}

function statusMessage(cause: unknown): string {
  const body = isKubernetesApiException(cause) ? cause.body : undefined;
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : errorMessage(cause);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const kubernetesProvider = defineProvider({
  schema,
  secretEnv: (config): SecretReference[] =>
    [
      ['kubeconfig_env', config.kubeconfig_env],
      ['token_env', config.token_env],
      ['ca_env', config.ca_env],
    ].flatMap(([key, variable]) => (variable === undefined ? [] : [{ key: key as string, variable }])),
  create: (config, { env }) => createKubernetesProvider(config, env),
  doctor: (config, { env }) => kubernetesFindings(config, () => clientConfig(config, env)),
});
