// `sesame doctor` for an aws_identity_center block: the credentials work, the permission set exists, and Sesame may make
// the reads a grant starts with (GetUserId, ListAccountAssignments). Writes cannot be tried without assigning something.
import { cannotTell, errorText, failed, passed, type Finding } from '../doctor/finding.ts';
import { loadIdentityCenterSdk } from './sdks.ts';

export interface IdentityCenterBlock {
  instance_arn: string;
  identity_store_id: string;
  account_id: string;
  permission_set_arn: string;
  region: string;
}

/** A user name nobody has: looking it up reads nothing, and ResourceNotFound proves the store answered. */
export const DOCTOR_PROBE_USER = 'sesame-doctor-probe';

/** Answers that mean the credentials themselves are wrong (https://docs.aws.amazon.com/singlesignon/latest/APIReference/CommonErrors.html). */
const CREDENTIAL_ERRORS = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId', 'CredentialsProviderError']);

const nameOf = (error: unknown): string => (error instanceof Error ? error.name : '');

export async function identityCenterFindings(config: IdentityCenterBlock): Promise<Finding[]> {
  // One attempt, short timeouts: a doctor reports what it finds now rather than retrying.
  const options = { region: config.region, maxAttempts: 1, requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 } };
  const { admin: SsoAdmin, store: IdentityStore } = await loadIdentityCenterSdk();
  const { DescribePermissionSetCommand, ListAccountAssignmentsCommand, SSOAdminClient } = SsoAdmin;
  const { GetUserIdCommand, IdentitystoreClient } = IdentityStore;
  const admin = new SSOAdminClient(options);
  const store = new IdentitystoreClient(options);
  const permissionSet = `permission set ${config.permission_set_arn.split('/').at(-1)}`;
  const denied = (action: string, error: unknown) =>
    failed(`AWS denied Sesame ${action} (${errorText(error)})`, `allow ${action} to Sesame's role (see the least-privilege policy in docs/providers.md)`);
  try {
    try {
      await store.send(new GetUserIdCommand({ IdentityStoreId: config.identity_store_id, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: DOCTOR_PROBE_USER } } }));
    } catch (error) {
      const name = nameOf(error);
      if (CREDENTIAL_ERRORS.has(name)) {
        return [failed(`AWS did not accept Sesame's credentials (${name}: ${errorText(error)})`, 'give Sesame valid credentials through the standard AWS chain (environment, AWS_PROFILE, web identity or the instance role)')];
      }
      if (name === 'AccessDeniedException') return [denied(`identitystore:GetUserId on identity store ${config.identity_store_id}`, error)];
      if (name === 'ValidationException' || (name === 'ResourceNotFoundException' && (error as { ResourceType?: string }).ResourceType === 'IDENTITY_STORE')) {
        return [failed(`identity store ${config.identity_store_id} cannot be read in ${config.region} (${errorText(error)})`, 'fix provider.identity_store_id and provider.region (the Identity Center home region)')];
      }
      if (name !== 'ResourceNotFoundException') {
        return [failed(`cannot reach AWS IAM Identity Center in ${config.region} (${name ? `${name}: ` : ''}${errorText(error)})`, 'check the network, provider.region and AWS_ENDPOINT_URL')];
      }
    }
    const findings = [passed(`identity store ${config.identity_store_id} answers a user look-up with Sesame's credentials`)];

    try {
      const { PermissionSet } = await admin.send(new DescribePermissionSetCommand({ InstanceArn: config.instance_arn, PermissionSetArn: config.permission_set_arn }));
      findings.push(passed(`${permissionSet} (${PermissionSet?.Name ?? 'no name'}) exists in instance ${config.instance_arn.split('/').at(-1)}`));
    } catch (error) {
      const name = nameOf(error);
      if (name === 'AccessDeniedException') {
        // Only the doctor reads the permission set; a grant never needs to, so this is not a failure.
        findings.push(cannotTell(`cannot tell whether ${permissionSet} exists: AWS denied sso:DescribePermissionSet`, 'allow sso:DescribePermissionSet (read-only) to let `sesame doctor` check it'));
      } else if (name === 'ResourceNotFoundException' || name === 'ValidationException') {
        findings.push(failed(`${permissionSet} does not exist in instance ${config.instance_arn.split('/').at(-1)} (${errorText(error)}), so every grant fails`, 'fix provider.permission_set_arn and provider.instance_arn'));
      } else {
        findings.push(failed(`could not read ${permissionSet} (${name ? `${name}: ` : ''}${errorText(error)})`, 'check provider.permission_set_arn and try again'));
      }
    }

    try {
      await admin.send(new ListAccountAssignmentsCommand({ InstanceArn: config.instance_arn, AccountId: config.account_id, PermissionSetArn: config.permission_set_arn, MaxResults: 1 }));
      findings.push(passed(`Sesame may list the assignments of ${permissionSet} on account ${config.account_id}`));
    } catch (error) {
      const name = nameOf(error);
      findings.push(
        name === 'AccessDeniedException'
          ? denied(`sso:ListAccountAssignments on account ${config.account_id}`, error)
          : failed(`could not list the assignments of ${permissionSet} on account ${config.account_id} (${name ? `${name}: ` : ''}${errorText(error)})`, 'fix provider.account_id and provider.instance_arn'),
      );
    }
    return findings;
  } finally {
    admin.destroy();
    store.destroy();
  }
}
