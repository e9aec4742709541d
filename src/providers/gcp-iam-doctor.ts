// `sesame doctor` for a gcp_iam block: Application Default Credentials give a token, the resource's IAM policy can be read,
// and testIamPermissions says Sesame holds getIamPolicy and setIamPolicy there. Nothing is written.
import { errorText, failed, passed, type Finding } from '../doctor/finding.ts';
import { gcpClientFor, resourceNameOf, statusOf, type GcpTarget } from './gcp-client.ts';

const ADC_FIX = 'give Sesame Application Default Credentials (workload identity, GOOGLE_APPLICATION_CREDENTIALS or the metadata server)';

export async function gcpFindings(config: GcpTarget & { role: string }, env: Readonly<Record<string, string | undefined>>): Promise<Finding[]> {
  const resource = resourceNameOf(config);
  const { credentials, collection } = await gcpClientFor(config, env);
  try {
    await credentials.getAccessToken();
  } catch (error) {
    return [failed(`Google did not give Sesame an access token from its Application Default Credentials (${errorText(error)})`, ADC_FIX)];
  }
  const findings: Finding[] = [];
  try {
    // Version 3, as the provider reads it: a version-1 read of a policy with conditions is refused.
    const { data } = await collection.getIamPolicy({ resource, requestBody: { options: { requestedPolicyVersion: 3 } } });
    const ours = (data.bindings ?? []).filter((b) => b.role === config.role && b.condition?.title?.startsWith('sesame ')).length;
    const count = data.bindings?.length ?? 0;
    findings.push(passed(`Sesame can read the IAM policy of ${resource} (${count} binding${count === 1 ? '' : 's'}, ${ours} of them Sesame's for ${config.role})`));
  } catch (error) {
    const status = statusOf(error);
    if (status === 401) return [failed(`Google did not accept Sesame's credentials to read the IAM policy of ${resource} (${errorText(error)})`, ADC_FIX)];
    if (status === 403 || status === 404) {
      // Google answers 403 for a resource that does not exist as well as for one Sesame may not read.
      return [failed(`Google refused to show Sesame the IAM policy of ${resource}: it does not exist, or Sesame's service account may not read it`, `check provider.${kindOf(resource)}, and give the service account ${adminRoleOf(resource)} there`)];
    }
    return [failed(`could not read the IAM policy of ${resource} (${status ?? errorText(error)})`, 'check the network and CLOUD_RESOURCE_MANAGER_URL, then try again')];
  }
  const wanted = ['getIamPolicy', 'setIamPolicy'].map((method) => `resourcemanager.${resource.split('/')[0]}.${method}`);
  try {
    const { data } = await collection.testIamPermissions({ resource, requestBody: { permissions: wanted } });
    const missing = wanted.filter((p) => !(data.permissions ?? []).includes(p));
    findings.push(
      missing.length === 0
        ? passed(`Sesame holds ${wanted.join(' and ')} on ${resource}`)
        : failed(`Sesame's service account lacks ${missing.join(' and ')} on ${resource}, so no grant can be written`, `give it ${adminRoleOf(resource)} there, or a custom role with ${wanted.join(' and ')}`),
    );
  } catch (error) {
    findings.push(failed(`Google did not answer testIamPermissions on ${resource} (${statusOf(error) ?? errorText(error)})`, 'try again; if it persists, check the network and CLOUD_RESOURCE_MANAGER_URL'));
  }
  return findings;
}

const kindOf = (resource: string): string => resource.split('/')[0]?.replace(/s$/, '') ?? 'project';

function adminRoleOf(resource: string): string {
  if (resource.startsWith('folders/')) return 'roles/resourcemanager.folderIamAdmin';
  if (resource.startsWith('organizations/')) return 'roles/resourcemanager.organizationAdmin';
  return 'roles/resourcemanager.projectIamAdmin';
}
