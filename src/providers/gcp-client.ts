// The Cloud Resource Manager v3 client both the gcp_iam provider and its doctor check use: Application Default Credentials,
// and an endpoint that can be moved (private access, tests) with CLOUD_RESOURCE_MANAGER_URL.
import type { auth, cloudresourcemanager_v3 } from '@googleapis/cloudresourcemanager';
import { loadCloudResourceManager } from './sdks.ts';

export interface GcpTarget {
  project?: string | undefined;
  folder?: string | undefined;
  organization?: string | undefined;
}

/** `projects/p`, `folders/1` or `organizations/1`: the resource whose IAM policy the block edits. */
export const resourceNameOf = (target: GcpTarget): string =>
  target.project !== undefined ? `projects/${target.project}` : target.folder !== undefined ? `folders/${target.folder}` : `organizations/${target.organization}`;

export interface GcpClient {
  credentials: InstanceType<typeof auth.GoogleAuth>;
  /** The collection (projects, folders or organizations) the resource belongs to. */
  collection: cloudresourcemanager_v3.Resource$Projects | cloudresourcemanager_v3.Resource$Folders | cloudresourcemanager_v3.Resource$Organizations;
}

export async function gcpClientFor(target: GcpTarget, env: Readonly<Record<string, string | undefined>>): Promise<GcpClient> {
  const { auth, cloudresourcemanager } = await loadCloudResourceManager();
  const resource = resourceNameOf(target);
  // A known project id stops the auth library from probing the metadata server and the project API for one.
  const credentials = new auth.GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'], projectId: target.project ?? resource });
  const crm = cloudresourcemanager({ version: 'v3', auth: credentials, ...(env.CLOUD_RESOURCE_MANAGER_URL ? { rootUrl: env.CLOUD_RESOURCE_MANAGER_URL } : {}), retry: false });
  const collection = resource.startsWith('projects/') ? crm.projects : resource.startsWith('folders/') ? crm.folders : crm.organizations;
  return { credentials, collection };
}

/** The HTTP status of a googleapis (gaxios) failure, when there was an answer. */
export function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; response?: { status?: unknown } } | null;
  const status = e?.response?.status ?? e?.status;
  return typeof status === 'number' ? status : undefined;
}
