// `sesame doctor` for a kubernetes block: the API server accepts Sesame's token, the role it binds exists, and
// SelfSubjectAccessReviews say Sesame may manage the bindings and bind that role. Only reads and reviews; nothing is bound.
import type { KubeConfig } from '@kubernetes/client-node';
import { ProviderError } from '../core/provider-error.ts';
import { cannotTell, errorText, failed, passed, type Finding } from '../doctor/finding.ts';
import { isKubernetesApiException, loadKubernetes } from './sdks.ts';

export interface KubernetesBlock {
  namespace?: string | undefined;
  role?: string | undefined;
  cluster_role?: string | undefined;
}

/** The verbs the provider uses on its bindings: create (grant), get (check, retried grant), update (extend), list and delete (revoke, sweep). */
const BINDING_VERBS = ['create', 'get', 'list', 'update', 'delete'];

const statusOf = (error: unknown): number | undefined => (isKubernetesApiException(error) ? error.code : undefined);

export async function kubernetesFindings(config: KubernetesBlock, kubeConfig: () => Promise<KubeConfig>): Promise<Finding[]> {
  let kc: KubeConfig;
  try {
    kc = await kubeConfig();
  } catch (error) {
    if (error instanceof ProviderError) return [failed(error.message.replace(/; set it.*$/, ''), 'set it in Sesame\'s environment')];
    return [failed(`the kubeconfig cannot be read (${errorText(error)})`, 'fix provider.kubeconfig_env (a whole kubeconfig as YAML)')];
  }
  const server = kc.getCurrentCluster()?.server ?? 'the API server';
  const where = config.namespace === undefined ? 'the cluster' : `namespace ${config.namespace}`;
  const bindings = config.namespace === undefined ? 'clusterrolebindings' : 'rolebindings';
  const [roleKind, roleName] = config.role !== undefined ? (['Role', config.role] as const) : (['ClusterRole', config.cluster_role ?? ''] as const);
  const { AuthorizationV1Api, RbacAuthorizationV1Api } = await loadKubernetes();
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const reviews = kc.makeApiClient(AuthorizationV1Api);
  const findings: Finding[] = [];

  try {
    if (roleKind === 'Role') await rbac.readNamespacedRole({ name: roleName, namespace: config.namespace ?? '' });
    else await rbac.readClusterRole({ name: roleName });
    findings.push(passed(`${roleKind} ${roleName} exists${roleKind === 'Role' ? ` in ${where}` : ''} on ${server}`));
  } catch (error) {
    const status = statusOf(error);
    if (status === 401) return [failed(`the Kubernetes API server at ${server} refused Sesame's credentials`, 'renew the service account token (or kubeconfig) and restart')];
    if (status === 404) {
      findings.push(failed(`${roleKind} ${roleName} does not exist${roleKind === 'Role' ? ` in ${where}` : ''} on ${server}, so every grant binds nothing usable`, `create it, or fix provider.${roleKind === 'Role' ? 'role and provider.namespace' : 'cluster_role'}`));
    } else if (status === 403) {
      // Reading roles is the doctor's need only; the provider never reads them.
      findings.push(cannotTell(`cannot tell whether ${roleKind} ${roleName} exists: Sesame's service account may not get ${roleKind === 'Role' ? 'roles' : 'clusterroles'}`, `allow get on it to let \`sesame doctor\` check, or check it yourself`));
    } else {
      return [failed(`cannot reach the Kubernetes API server at ${server} (${status ?? errorText(error)})`, 'check provider.server (or the kubeconfig), ca_env and the network')];
    }
  }

  const allowed = async (verb: string, resource: string, name?: string): Promise<boolean> => {
    const attributes = { group: 'rbac.authorization.k8s.io', resource, verb, ...(config.namespace === undefined ? {} : { namespace: config.namespace }), ...(name ? { name } : {}) };
    const answer = await reviews.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes } } });
    return answer.status?.allowed === true;
  };
  try {
    const verdicts = await Promise.all(BINDING_VERBS.map(async (verb) => [verb, await allowed(verb, bindings)] as const));
    const missing = verdicts.filter(([, ok]) => !ok).map(([verb]) => verb);
    findings.push(
      missing.length === 0
        ? passed(`Sesame may ${BINDING_VERBS.join(', ')} ${bindings} in ${where}`)
        : failed(`Sesame's service account may not ${missing.join(', ')} ${bindings} in ${where}, so grants or revokes there fail`, `give it ${BINDING_VERBS.join(', ')} on ${bindings} (the Role in docs/providers.md)`),
    );
    const roles = roleKind === 'Role' ? 'roles' : 'clusterroles';
    findings.push(
      (await allowed('bind', roles, roleName))
        ? passed(`Sesame may bind ${roleKind} ${roleName}`)
        : failed(`Sesame's service account may not bind ${roleKind} ${roleName}, so Kubernetes refuses any binding that grants more than Sesame holds itself`, `allow the bind verb on ${roles} with resourceNames [${roleName}]`),
    );
  } catch (error) {
    findings.push(failed(`the Kubernetes API server at ${server} did not answer a SelfSubjectAccessReview (${statusOf(error) ?? errorText(error)})`, 'check that the authorization.k8s.io/v1 API is served, then try again'));
  }
  return findings;
}
