// A Kubernetes API server stand-in over TLS for RBAC bindings, following
// https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/role-binding-v1/ (and cluster-role-binding-v1)
// and https://kubernetes.io/docs/reference/using-api/api-concepts/: 404 NotFound, 409 AlreadyExists / Conflict on a stale
// resourceVersion, 410 Gone for an expired list continue token, answers as metav1.Status objects. Also GET of roles and
// cluster roles (.../role-v1/, .../cluster-role-v1/) and SelfSubjectAccessReview
// (https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/self-subject-access-review-v1/), which any
// authenticated caller may create and which answers status.allowed for the caller's own token.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestPki } from './test-pki.ts';
import { LoopbackServer } from '../loopback-server.ts';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };
export interface InjectedStatus {
  code: number;
  reason: string;
}

const PREFIX = '/apis/rbac.authorization.k8s.io/v1';

export class KubernetesStandIn extends LoopbackServer {
  /** "namespace/name" (namespace empty for cluster-scoped) → binding. */
  readonly bindings = new Map<string, Obj>();
  readonly namespaces = new Set<string>(['default']);
  /** A token that may read but not write, for 403s. */
  readonly readOnlyToken = 'read-only-token';
  /** Roles ("namespace/name") and cluster roles that exist, for GET and the doctor's check. */
  readonly roles = new Set<string>(['default/debugger']);
  readonly clusterRoles = new Set<string>(['view', 'edit']);
  /** Every SelfSubjectAccessReview asked, as "verb resource namespace name". */
  readonly accessReviews: string[] = [];
  private readonly failures: InjectedStatus[] = [];
  private version = 1;

  constructor(
    private readonly pki: TestPki,
    readonly token: string,
  ) {
    super();
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  failNext(...failures: InjectedStatus[]): void {
    this.failures.push(...failures);
  }

  get failuresLeft(): number {
    return this.failures.length;
  }

  binding(namespace: string | undefined, name: string): Obj | undefined {
    return this.bindings.get(`${namespace ?? ''}/${name}`);
  }

  protected override makeServer(listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
    return createServer({ key: this.pki.serverKeyPem, cert: this.pki.serverCertPem }, listener);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'https://x');
    const method = req.method ?? 'GET';
    const json = (code: number, body: unknown) => void res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const status = (code: number, reason: string, message: string) => json(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

    const injected = this.failures.shift();
    if (injected) return status(injected.code, injected.reason, `injected ${injected.reason}`);
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${this.token}` && auth !== `Bearer ${this.readOnlyToken}`) return status(401, 'Unauthorized', 'Unauthorized');

    const review = this.accessReview(url.pathname, method, auth, chunks);
    if (review) return json(201, review);
    const roleMatch = /^(?:\/namespaces\/([^/]+))?\/(roles|clusterroles)\/([^/]+)$/.exec(url.pathname.slice(PREFIX.length));
    if (url.pathname.startsWith(PREFIX) && roleMatch && method === 'GET') {
      const [, ns, resource, name] = roleMatch;
      const exists = resource === 'roles' ? ns !== undefined && this.roles.has(`${ns}/${name}`) : ns === undefined && this.clusterRoles.has(name ?? '');
      if (!exists) return status(404, 'NotFound', `${resource}.rbac.authorization.k8s.io "${name}" not found`);
      return json(200, { kind: resource === 'roles' ? 'Role' : 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name, ...(ns ? { namespace: ns } : {}) }, rules: [] });
    }
    const m = /^(?:\/namespaces\/([^/]+))?\/(rolebindings|clusterrolebindings)(?:\/([^/]+))?$/.exec(url.pathname.slice(PREFIX.length));
    if (!url.pathname.startsWith(PREFIX) || !m) return status(404, 'NotFound', 'the server could not find the requested resource');
    const [, namespace, resource, name] = m;
    if ((namespace === undefined) !== (resource === 'clusterrolebindings')) return status(404, 'NotFound', 'the server could not find the requested resource');
    const kind = resource === 'rolebindings' ? 'RoleBinding' : 'ClusterRoleBinding';
    if (namespace !== undefined && !this.namespaces.has(namespace)) return status(404, 'NotFound', `namespaces "${namespace}" not found`);
    if (method !== 'GET' && auth === `Bearer ${this.readOnlyToken}`) {
      return status(403, 'Forbidden', `${resource}.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:sesame:reader" cannot ${method.toLowerCase()} resource "${resource}"`);
    }
    const key = `${namespace ?? ''}/${name ?? ''}`;
    const notFound = () => status(404, 'NotFound', `${resource}.rbac.authorization.k8s.io "${name}" not found`);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj) : null;

    if (name === undefined && method === 'GET') {
      if (url.searchParams.has('continue')) return status(410, 'Expired', 'The provided continue parameter is too old');
      const selector = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((s) => s.split('='));
      const items = [...this.bindings.entries()]
        .filter(([k]) => k.startsWith(`${namespace ?? ''}/`))
        .map(([, v]) => v)
        .filter((b) => selector.every(([k, v]) => b.metadata.labels?.[k ?? ''] === v));
      return json(200, { kind: `${kind}List`, apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { resourceVersion: String(this.version) }, items });
    }
    if (name === undefined && method === 'POST') {
      if (!body) return status(400, 'BadRequest', 'no body');
      const k = `${namespace ?? ''}/${body.metadata.name}`;
      if (this.bindings.has(k)) return status(409, 'AlreadyExists', `${resource}.rbac.authorization.k8s.io "${body.metadata.name}" already exists`);
      const stored = { ...body, metadata: { ...body.metadata, ...(namespace ? { namespace } : {}), resourceVersion: String(++this.version), uid: `uid-${this.version}` } };
      this.bindings.set(k, stored);
      return json(201, stored);
    }
    const existing = this.bindings.get(key);
    if (method === 'GET') return existing ? json(200, existing) : notFound();
    if (method === 'DELETE') {
      if (!existing) return notFound();
      this.bindings.delete(key);
      return json(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'rbac.authorization.k8s.io', kind: resource } });
    }
    if (method === 'PUT') {
      if (!existing || !body) return notFound();
      if (body.metadata.resourceVersion !== existing.metadata.resourceVersion) {
        return status(409, 'Conflict', `Operation cannot be fulfilled on ${resource}.rbac.authorization.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      this.bindings.set(key, stored);
      return json(200, stored);
    }
    return status(405, 'MethodNotAllowed', 'method not allowed');
  }

  /** A SelfSubjectAccessReview answered for the caller: the full token may do anything, the read-only one only get and list. */
  private accessReview(path: string, method: string, auth: string | undefined, chunks: Buffer[]) {
    if (path !== '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' || method !== 'POST') return null;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { spec?: { resourceAttributes?: { verb?: string; resource?: string; namespace?: string; name?: string } } };
    const attributes = body.spec?.resourceAttributes ?? {};
    this.accessReviews.push([attributes.verb, attributes.resource, attributes.namespace ?? '', attributes.name ?? ''].join(' '));
    const allowed = auth === `Bearer ${this.token}` || ['get', 'list'].includes(attributes.verb ?? '');
    return { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec: body.spec, status: { allowed, ...(allowed ? { reason: 'RBAC: allowed' } : {}) } };
  }

  /** Changes a binding behind Sesame's back, as another controller would (its resourceVersion moves). */
  touch(namespace: string | undefined, name: string): void {
    const existing = this.binding(namespace, name);
    if (existing) existing.metadata.resourceVersion = String(++this.version);
  }
}
