// A Google Cloud stand-in: Cloud Resource Manager v3 getIamPolicy/setIamPolicy with etags and 409 ABORTED on a stale one,
// after https://cloud.google.com/resource-manager/reference/rest/v3/projects/getIamPolicy (and setIamPolicy, folders,
// organizations), https://cloud.google.com/iam/docs/policies#etag and https://cloud.google.com/iam/docs/conditions-overview
// (conditions need policy version 3; basic roles refuse them), .../v3/projects/testIamPermissions (answers the subset of the
// asked permissions the caller holds); plus the STS token exchange that Application Default
// Credentials of type external_account call (https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackServer } from '../loopback-server.ts';

export interface GcpBinding {
  role: string;
  members: string[];
  condition?: { title: string; description?: string; expression: string };
}
export interface InjectedGcpError {
  code: number;
  status: string;
}

export class GcpStandIn extends LoopbackServer {
  /** Resource name ("projects/p") → its policy; an unknown resource is 404. */
  readonly policies = new Map<string, { version: number; etag: string; bindings: GcpBinding[] }>();
  /** The next setIamPolicy finds the policy changed by someone else first (its etag moves), as many times as set. */
  concurrentEdits = 0;
  readonly calls: string[] = [];
  /** Permissions the caller lacks (e.g. resourcemanager.projects.setIamPolicy): the method they guard answers 403. */
  readonly missingPermissions = new Set<string>();
  /** When true, the STS token exchange refuses the federated token (invalid_grant), as for a revoked workload identity. */
  refuseTokens = false;
  private readonly failures: InjectedGcpError[] = [];
  private readonly tokens = new Set<string>();
  private revision = 1;

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /**
   * Points Application Default Credentials at this stand-in, as workload identity federation does in production:
   * writes an external_account credentials file and sets GOOGLE_APPLICATION_CREDENTIALS (and the API root) in `env`.
   */
  useAsAdc(env: Record<string, string | undefined>): void {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-adc-'));
    writeFileSync(join(dir, 'subject-token'), 'a-federated-subject-token');
    const credentials = {
      type: 'external_account',
      audience: '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/sesame/providers/ci',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: `${this.url}v1/token`,
      credential_source: { file: join(dir, 'subject-token') },
    };
    writeFileSync(join(dir, 'adc.json'), JSON.stringify(credentials));
    Object.assign(env, { GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'adc.json'), CLOUD_RESOURCE_MANAGER_URL: this.url });
  }

  addResource(name: string, bindings: GcpBinding[] = []): void {
    this.policies.set(name, { version: 1, etag: this.nextEtag(), bindings });
  }

  bindingsOf(name: string): GcpBinding[] {
    return this.policies.get(name)?.bindings ?? [];
  }

  failNext(...failures: InjectedGcpError[]): void {
    this.failures.push(...failures);
  }

  get failuresLeft(): number {
    return this.failures.length;
  }

  private nextEtag(): string {
    return Buffer.from(`etag-${++this.revision}`).toString('base64');
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const json = (code: number, body: unknown) => void res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
    const error = (code: number, status: string, message: string) => json(code, { error: { code, message, status } });
    this.calls.push(`${req.method} ${path}`);

    if (path === '/v1/token' && req.method === 'POST') {
      const form = new URLSearchParams(raw);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange' || !form.get('subject_token')) return json(400, { error: 'invalid_request' });
      if (this.refuseTokens) return json(400, { error: 'invalid_grant', error_description: 'The audience in ID Token does not match the expected audience.' });
      const token = `ya29.${randomBytes(12).toString('hex')}`;
      this.tokens.add(token);
      return json(200, { access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 });
    }
    if (!this.tokens.has(String(req.headers.authorization ?? '').replace(/^Bearer /, ''))) return error(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const injected = this.failures.shift();
    if (injected) return error(injected.code, injected.status, `injected ${injected.status}`);

    const m = /^\/v3\/((?:projects|folders|organizations)\/[^/:]+):(getIamPolicy|setIamPolicy|testIamPermissions)$/.exec(path);
    if (!m || req.method !== 'POST') return error(404, 'NOT_FOUND', 'The requested URL was not found on this server.');
    const [, resource = '', method] = m;
    const policy = this.policies.get(resource);
    if (!policy) return error(403, 'PERMISSION_DENIED', `The caller does not have permission, or ${resource} does not exist`);
    const body = JSON.parse(raw || '{}') as { options?: { requestedPolicyVersion?: number }; policy?: { version?: number; etag?: string; bindings?: GcpBinding[] }; permissions?: string[] };
    if (method === 'testIamPermissions') return json(200, { permissions: (body.permissions ?? []).filter((p) => !this.missingPermissions.has(p)) });
    if (this.missingPermissions.has(`resourcemanager.${resource.split('/')[0]}.${method}`)) {
      return error(403, 'PERMISSION_DENIED', `Permission 'resourcemanager.${resource.split('/')[0]}.${method}' denied on resource '//cloudresourcemanager.googleapis.com/${resource}'`);
    }

    if (method === 'getIamPolicy') {
      const version = body.options?.requestedPolicyVersion ?? 1;
      // A reader asking for version 1 must not see conditional bindings as if they were unconditional.
      if (version < 3 && policy.bindings.some((b) => b.condition)) return error(400, 'INVALID_ARGUMENT', 'Policy has conditions; request version 3');
      return json(200, { version: policy.version, etag: policy.etag, bindings: policy.bindings });
    }
    const next = body.policy ?? {};
    if (this.concurrentEdits > 0) {
      this.concurrentEdits--;
      policy.etag = this.nextEtag();
    }
    if (next.etag !== undefined && next.etag !== policy.etag) return error(409, 'ABORTED', 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
    const bindings = next.bindings ?? [];
    if (bindings.some((b) => b.condition) && next.version !== 3) return error(400, 'INVALID_ARGUMENT', 'Conditions require policy version 3');
    if (bindings.some((b) => b.condition && ['roles/owner', 'roles/editor', 'roles/viewer'].includes(b.role))) return error(400, 'INVALID_ARGUMENT', 'Conditions are not supported for basic roles');
    Object.assign(policy, { version: next.version ?? 1, bindings, etag: this.nextEtag() });
    return json(200, { version: policy.version, etag: policy.etag, bindings: policy.bindings });
  }
}
