// The kubernetes provider through @kubernetes/client-node against the TLS API server stand-in: bindings, refusals, conflicts, orphans.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantSubject } from '../../src/core/ports.ts';
import { bindingNameOf, kubernetesProvider } from '../../src/providers/kubernetes.ts';
import { sweepOrphans } from '../../src/core/orphan-sweep.ts';
import { noUsergroups } from '../support/fakes.ts';
import { keeperHarness } from '../support/keeper-harness.ts';
import { aSubject } from '../support/grant-subjects.ts';
import { KubernetesStandIn } from '../support/stand-ins/kubernetes.ts';
import { makeTestPki } from '../support/stand-ins/test-pki.ts';

const TOKEN = 'kube-test-token';

describe('kubernetes provider', () => {
  const pki = makeTestPki();
  const kube = new KubernetesStandIn(pki, TOKEN);
  beforeAll(() => kube.start());
  afterAll(() => kube.stop());

  const env = () => ({ KUBE_TOKEN: TOKEN, KUBE_CA: pki.caPem, KUBE_READER: kube.readOnlyToken });
  const providerOf = (block: Record<string, unknown>, environment: Record<string, string> = env()) =>
    kubernetesProvider.create(kubernetesProvider.schema.parse({ type: 'kubernetes', server: kube.url, token_env: 'KUBE_TOKEN', ca_env: 'KUBE_CA', ...block }), { env: environment, usergroups: noUsergroups });
  const subject = (overrides: Partial<GrantSubject> = {}) => aSubject({ identity: 'alice@corp.example', ...overrides });

  it('creates a labelled, annotated RoleBinding for the mapped user and deletes it at revoke', async () => {
    const provider = providerOf({ namespace: 'default', role: 'debugger' });
    const s = subject();
    await provider.grant(s);
    expect(kube.binding('default', bindingNameOf(s))).toMatchObject({
      kind: 'RoleBinding',
      metadata: { name: bindingNameOf(s), labels: { 'sesame.dev/grant': s.grantId, 'app.kubernetes.io/managed-by': 'sesame' }, annotations: { 'sesame.dev/expires-at': s.expiresAt.toISOString() } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'debugger' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice@corp.example' }],
    });
    await provider.revoke(s);
    expect(kube.binding('default', bindingNameOf(s))).toBeUndefined();
    await expect(provider.revoke(s)).resolves.toBeUndefined();
  });

  it('binds a group to a cluster role cluster-wide when no namespace is given', async () => {
    const provider = providerOf({ cluster_role: 'view', subject_kind: 'Group' });
    const s = subject({ identity: 'oncall' });
    await provider.grant(s);
    expect(kube.binding(undefined, bindingNameOf(s))).toMatchObject({ kind: 'ClusterRoleBinding', roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'Group', name: 'oncall' }] });
    expect(await provider.check?.(s)).toBe('present');
    await provider.revoke(s);
    expect(await provider.check?.(s)).toBe('absent');
  });

  it('reads its cluster and credentials from a kubeconfig in one variable', async () => {
    const kubeconfig = JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'k', cluster: { server: kube.url, 'certificate-authority-data': Buffer.from(pki.caPem).toString('base64') } }],
      users: [{ name: 'u', user: { token: TOKEN } }],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
    });
    const provider = kubernetesProvider.create(kubernetesProvider.schema.parse({ type: 'kubernetes', kubeconfig_env: 'KUBECONFIG_TEXT', namespace: 'default', role: 'debugger' }), { env: { KUBECONFIG_TEXT: kubeconfig }, usergroups: noUsergroups });
    const s = subject();
    await provider.grant(s);
    expect(await provider.check?.(s)).toBe('present');
    await provider.revoke(s);
  });

  it('takes back its own binding after a lost answer, and refuses one it did not make', async () => {
    const provider = providerOf({ namespace: 'default', role: 'debugger' });
    const s = subject();
    await provider.grant(s);
    await expect(provider.grant(s)).resolves.toEqual({}); // the retry of a grant whose answer was lost
    const foreign = { ...s, identity: 'mallory@corp.example' };
    const failure = await provider.grant(foreign).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: false, message: `a RoleBinding ${bindingNameOf(s)} that Sesame did not make for this grant already exists in namespace default; Sesame left it alone: delete it if it is stale, and request again`, nothingGranted: true });
    expect(await provider.check?.(foreign)).toBe('absent');
    await provider.revoke(s);
  });

  it('says what permission is missing when the service account may not write bindings', async () => {
    const failure = await providerOf({ namespace: 'default', role: 'debugger', token_env: 'KUBE_READER' }).grant(subject()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ retryable: false, message: expect.stringMatching(/^Sesame's service account may not create RoleBinding sesame-g\d+ in namespace default \(.*cannot post resource "rolebindings"\); give it create, get, update, list and delete on rolebindings there, and bind on the role$/) });
    const refused = await providerOf({ namespace: 'default', role: 'debugger' }, { ...env(), KUBE_TOKEN: 'expired' }).grant(subject()).catch((e: unknown) => e);
    expect(refused).toMatchObject({ retryable: false, message: expect.stringContaining("refused Sesame's credentials") });
  });

  it('does not talk to an API server whose certificate the configured CA did not sign', async () => {
    const other = makeTestPki();
    const failure = await providerOf({ namespace: 'default', role: 'debugger' }, { ...env(), KUBE_CA: other.caPem }).grant(subject()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ message: expect.stringMatching(/^the Kubernetes API server did not create RoleBinding sesame-g\d+ \(.*certificate.*\)/) });
    expect([...kube.bindings.keys()].filter((k) => k.startsWith('default/'))).toEqual([]);
  });

  it('moves the expiry annotation on extension, and asks to retry when the binding changed meanwhile', async () => {
    const provider = providerOf({ namespace: 'default', role: 'debugger' });
    const s = subject();
    await provider.grant(s);
    const later = { ...s, expiresAt: new Date(s.expiresAt.getTime() + 3_600_000) };
    kube.failNext({ code: 409, reason: 'Conflict' }); // someone else's update wins the race for this read
    await expect(provider.extend?.(later)).rejects.toMatchObject({ retryable: true });
    await provider.extend?.(later);
    expect(kube.binding('default', bindingNameOf(s))?.metadata.annotations).toMatchObject({ 'sesame.dev/expires-at': later.expiresAt.toISOString() });
    await provider.revoke(s);
  });

  it('sweeps away the bindings of grants no longer live, and nothing else', async () => {
    const provider = providerOf({ namespace: 'default', role: 'debugger' });
    const live = subject();
    const orphan = subject();
    await provider.grant(live);
    await provider.grant(orphan);
    kube.bindings.set('default/someone-elses', { metadata: { name: 'someone-elses', labels: { team: 'x' } } });
    const swept = await providerOf({ namespace: 'default', role: 'debugger' }).sweep?.(async (grantId) => grantId === live.grantId);
    expect(swept).toEqual([bindingNameOf(orphan)]);
    expect(kube.binding('default', bindingNameOf(live))).toBeDefined();
    expect(kube.binding('default', 'someone-elses')).toBeDefined();
    await provider.revoke(live);
  });

  it('is swept by the reconciler step: a binding left by a grant that never became live goes, live ones stay', async () => {
    const config = kubernetesProvider.schema.parse({ type: 'kubernetes', server: kube.url, token_env: 'KUBE_TOKEN', ca_env: 'KUBE_CA', namespace: 'default', role: 'debugger' });
    const provider = kubernetesProvider.create(config, { env: env(), usergroups: noUsergroups });
    const h = await keeperHarness(provider, config, { resources: { 'cluster-debug': config } });
    try {
      const live = await h.granted('U0ALICE');
      const crashed = await h.granted('U0BOB');
      // As if Sesame had crashed and its database lost the grant's last state: the grant failed, the binding stayed.
      await h.sql.run("UPDATE grants SET state = 'failed' WHERE id = ?", crashed.id);
      const log = { info: () => {}, warn: () => {}, error: () => {} };
      const deleted = await sweepOrphans({ store: h.store, policy: () => h.policy, providers: { for: () => provider }, log });
      expect(deleted).toBe(1);
      expect(await provider.check?.(await h.subject(live))).toBe('present');
      expect(kube.binding('default', `sesame-g${crashed.id}`)).toBeUndefined();
      await h.end(live);
    } finally {
      await h.cleanup();
    }
  });

  it('refuses blocks that cannot work, naming the field', () => {
    const issues = (block: Record<string, unknown>) => kubernetesProvider.schema.safeParse({ type: 'kubernetes', ...block }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ server: 'https://k8s.example.com', namespace: 'default', role: 'r' })).toEqual(['token_env: server needs token_env (the service account token)']);
    expect(issues({ server: 'https://k8s.example.com', token_env: 'T', role: 'r' })).toEqual(['namespace: a role lives in a namespace: add namespace, or use cluster_role']);
    expect(issues({ kubeconfig_env: 'K', server: 'https://k8s.example.com', token_env: 'T', cluster_role: 'view' })).toEqual(['server: give either kubeconfig_env, or server with token_env']);
    expect(issues({ server: 'http://k8s.example.com', token_env: 'T', cluster_role: 'view' })).toEqual(["server: must be the API server's https:// URL"]);
  });
});
