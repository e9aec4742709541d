// `sesame doctor` for the four cloud providers, each against its stand-in through its official SDK: healthy set-ups pass,
// and bad credentials, missing permissions and missing targets each fail with a sentence naming the resource and the fix.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import { renderFinding, type Finding } from '../../src/doctor/finding.ts';
import { runDoctor } from '../../src/doctor/run-doctor.ts';
import { openDatabase } from '../../src/store/db.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { OwnRedis } from '../support/own-redis.ts';
import { AWS_BLOCK } from '../support/provider-cases.ts';
import { sesame } from '../support/run-cli.ts';
import { IdentityCenterStandIn } from '../support/stand-ins/aws-identity-center.ts';
import { GcpStandIn } from '../support/stand-ins/gcp.ts';
import { GithubStandIn } from '../support/stand-ins/github.ts';
import { KubernetesStandIn } from '../support/stand-ins/kubernetes.ts';
import { makeTestPki } from '../support/stand-ins/test-pki.ts';

const GH_TOKEN = 'ghp_doctor_token';
const KUBE_TOKEN = 'kube-doctor-token';
const AWS_KEY_ID = 'AKIADOCTOR0000000000';
const PS = 'ps-0123456789abcdef';

interface Blocks {
  team?: string;
  kubeRole?: string;
  permissionSet?: string;
  identityStore?: string;
  project?: string;
}

const policyYaml = (urls: { github: string; kube: string }, b: Blocks = {}) => `version: 1
settings:
  approvals_channel: C0APPROVALS
  audit_channel: C0AUDIT
tiers:
  low: { auto_approve: always, max_duration: 8h }
resources:
  gh-ops:
    tier: low
    roles: [member]
    provider: { type: github_team, org: acme, team: ${b.team ?? 'ops'}, token_env: DOCTOR_GH_TOKEN, base_url: "${urls.github}" }
  k8s-debug:
    tier: low
    roles: [debug]
    provider: { type: kubernetes, server: "${urls.kube}", token_env: DOCTOR_KUBE_TOKEN, ca_env: DOCTOR_KUBE_CA, namespace: default, role: ${b.kubeRole ?? 'debugger'} }
  aws-admin:
    tier: low
    roles: [admin]
    provider:
      type: aws_identity_center
      instance_arn: ${AWS_BLOCK.instance_arn}
      identity_store_id: ${b.identityStore ?? AWS_BLOCK.identity_store_id}
      account_id: "${AWS_BLOCK.account_id}"
      permission_set_arn: ${b.permissionSet ?? AWS_BLOCK.permission_set_arn}
      region: ${AWS_BLOCK.region}
  gcp-sql:
    tier: low
    roles: [client]
    provider: { type: gcp_iam, project: ${b.project ?? 'payments-prod'}, role: roles/cloudsql.client }
`;

const lines = (findings: Finding[]) => findings.map(renderFinding);
const providerLines = (findings: Finding[]) => lines(findings).filter((l) => /^. (gh-ops|k8s-debug|aws-admin|gcp-sql) /.test(l));

describe('sesame doctor for the cloud providers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-doctor-cloud-'));
  const slack = new FakeSlack();
  const redis = new OwnRedis('noeviction', ['--appendonly', 'yes', '--dir', dir]);
  const github = new GithubStandIn(GH_TOKEN);
  const pki = makeTestPki();
  const kube = new KubernetesStandIn(pki, KUBE_TOKEN);
  const aws = new IdentityCenterStandIn(AWS_KEY_ID);
  const gcp = new GcpStandIn();
  const awsEnv = { AWS_ACCESS_KEY_ID: AWS_KEY_ID, AWS_SECRET_ACCESS_KEY: 'doctor-secret', AWS_REGION: AWS_BLOCK.region };
  let env: Record<string, string>;
  let policyOf: (name: string, blocks?: Blocks) => string;

  beforeAll(async () => {
    await Promise.all([slack.start(), redis.start(), github.start(), kube.start(), aws.start(), gcp.start()]);
    slack.channels.set('C0APPROVALS', { name: 'approvals' });
    slack.channels.set('C0AUDIT', { name: 'audit' });
    github.teams.set('acme/ops', new Map());
    gcp.addResource('projects/payments-prod', [{ role: 'roles/cloudsql.client', members: ['user:alice@corp.example'] }]);
    // The AWS SDK and Google's auth library read their credentials from the process environment, as in production.
    const adc: Record<string, string | undefined> = {};
    gcp.useAsAdc(adc);
    Object.assign(process.env, awsEnv, { AWS_ENDPOINT_URL: aws.url }, adc);
    const database = join(dir, 'sesame.db');
    openDatabase(database).$client.close();
    policyOf = (name, blocks) => {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, policyYaml({ github: github.baseUrl, kube: kube.url }, blocks));
      return path;
    };
    env = {
      SLACK_BOT_TOKEN: 'xoxb-doctor',
      SLACK_SIGNING_SECRET: 'doctor-signing-secret',
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: redis.url,
      DATABASE_PATH: database,
      POLICY_PATH: policyOf('policy'),
      DOCTOR_GH_TOKEN: GH_TOKEN,
      DOCTOR_KUBE_TOKEN: KUBE_TOKEN,
      DOCTOR_KUBE_CA: pki.caPem,
      ...awsEnv,
      AWS_ENDPOINT_URL: aws.url,
      GOOGLE_APPLICATION_CREDENTIALS: adc.GOOGLE_APPLICATION_CREDENTIALS ?? '',
      CLOUD_RESOURCE_MANAGER_URL: adc.CLOUD_RESOURCE_MANAGER_URL ?? '',
    };
  });

  afterAll(async () => {
    await Promise.all([slack.stop(), redis.stop(), github.stop(), kube.stop(), aws.stop(), gcp.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const configWith = (changes: Record<string, string | undefined> = {}): Config => {
    const config = loadConfig({ ...env, ...changes });
    if (!config.ok) throw new Error(config.error.join('\n'));
    return config.value;
  };

  it('passes each provider with harmless reads only, names what it checked, and the command exits 0', async () => {
    github.scopes = 'admin:org, repo';
    github.rateLimitRemaining = 4321;
    const before = { bindings: kube.bindings.size, assignments: aws.assignments.size, policy: JSON.stringify(gcp.bindingsOf('projects/payments-prod')) };
    const requests = github.requests.length;
    try {
      expect(providerLines(await runDoctor(configWith()))).toEqual([
        `✓ gh-ops (github_team): the token in DOCTOR_GH_TOKEN sees team acme/ops ("ops") on 127.0.0.1:${github.port} (rate limit: 4321 of 5000 requests left this hour)`,
        '✓ gh-ops (github_team): the classic token in DOCTOR_GH_TOKEN has the admin:org scope that team membership changes need',
        `✓ k8s-debug (kubernetes): Role debugger exists in namespace default on ${kube.url}`,
        '✓ k8s-debug (kubernetes): Sesame may create, get, list, update, delete rolebindings in namespace default',
        '✓ k8s-debug (kubernetes): Sesame may bind Role debugger',
        '✓ aws-admin (aws_identity_center): identity store d-0123456789 answers a user look-up with Sesame\'s credentials',
        `✓ aws-admin (aws_identity_center): permission set ${PS} (ReadOnlyAccess) exists in instance ssoins-0123456789abcdef`,
        `✓ aws-admin (aws_identity_center): Sesame may list the assignments of permission set ${PS} on account 111122223333`,
        '✓ gcp-sql (gcp_iam): Sesame can read the IAM policy of projects/payments-prod (1 bindings, 0 of them Sesame\'s for roles/cloudsql.client)',
        '✓ gcp-sql (gcp_iam): Sesame holds resourcemanager.projects.getIamPolicy and resourcemanager.projects.setIamPolicy on projects/payments-prod',
      ]);
      // Nothing was granted or changed anywhere: only reads and reviews.
      expect(github.requests.slice(requests).map((r) => r.method)).toEqual(['GET']);
      expect(kube.accessReviews).toEqual(expect.arrayContaining(['create rolebindings default ', 'delete rolebindings default ', 'bind roles default debugger']));
      expect(aws.targets).toEqual(expect.arrayContaining(['AWSIdentityStore.GetUserId', 'SWBExternalService.DescribePermissionSet', 'SWBExternalService.ListAccountAssignments']));
      expect(aws.targets.filter((t) => /Create|Delete/.test(t))).toEqual([]);
      expect(gcp.calls.filter((c) => c.includes('setIamPolicy'))).toEqual([]);
      expect({ bindings: kube.bindings.size, assignments: aws.assignments.size, policy: JSON.stringify(gcp.bindingsOf('projects/payments-prod')) }).toEqual(before);
      expect(aws.users.size).toBe(0); // the probe user name was looked up, never created

      const out = await sesame(['doctor'], env);
      expect(out.stdout).toContain('✓ gcp-sql (gcp_iam): Sesame holds resourcemanager.projects.getIamPolicy');
      expect(out.stdout).toMatch(/\nall \d+ checks passed\n$/);
      expect(out.code).toBe(0);
    } finally {
      github.scopes = null;
      github.rateLimitRemaining = 4999;
    }
  });

  it('fails each provider whose credentials are refused, with one sentence each, and the command exits 1', async () => {
    gcp.refuseTokens = true;
    try {
      const bad = { DOCTOR_GH_TOKEN: 'ghp_revoked', DOCTOR_KUBE_TOKEN: 'expired-token', AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONG000000' };
      process.env.AWS_ACCESS_KEY_ID = bad.AWS_ACCESS_KEY_ID;
      const found = providerLines(await runDoctor(configWith(bad)));
      expect(found).toEqual([
        `✗ gh-ops (github_team): GitHub (127.0.0.1:${github.port}) refused the token in DOCTOR_GH_TOKEN (401 Bad credentials) — replace DOCTOR_GH_TOKEN with a valid token`,
        `✗ k8s-debug (kubernetes): the Kubernetes API server at ${kube.url} refused Sesame's credentials — renew the service account token (or kubeconfig) and restart`,
        expect.stringMatching(/^✗ aws-admin \(aws_identity_center\): AWS did not accept Sesame's credentials \(UnrecognizedClientException: The security token included in the request is invalid\.\) — give Sesame valid credentials/),
        expect.stringMatching(/^✗ gcp-sql \(gcp_iam\): Google did not give Sesame an access token from its Application Default Credentials \(.*\) — give Sesame Application Default Credentials/),
      ]);

      const out = await sesame(['doctor'], { ...env, ...bad });
      expect(out.stdout).toContain('✗ aws-admin (aws_identity_center): AWS did not accept Sesame\'s credentials');
      expect(out.stdout).toMatch(/\n4 of \d+ checks failed\n$/);
      expect(out.code).toBe(1);
    } finally {
      gcp.refuseTokens = false;
      process.env.AWS_ACCESS_KEY_ID = AWS_KEY_ID;
    }
  });

  it('fails each provider whose credentials lack a permission Sesame needs, naming the permission', async () => {
    github.scopes = 'repo, read:org';
    aws.deniedTargets.add('SWBExternalService.ListAccountAssignments').add('SWBExternalService.DescribePermissionSet');
    gcp.missingPermissions.add('resourcemanager.projects.setIamPolicy');
    try {
      const found = providerLines(await runDoctor(configWith({ DOCTOR_KUBE_TOKEN: kube.readOnlyToken })));
      expect(found).toEqual([
        `✓ gh-ops (github_team): the token in DOCTOR_GH_TOKEN sees team acme/ops ("ops") on 127.0.0.1:${github.port} (rate limit: 4999 of 5000 requests left this hour)`,
        '✗ gh-ops (github_team): the classic token in DOCTOR_GH_TOKEN has the scopes [repo, read:org] but not admin:org, so Sesame cannot add anyone to acme/ops — issue a token with admin:org, or a fine-grained token with Members: read and write',
        `✓ k8s-debug (kubernetes): Role debugger exists in namespace default on ${kube.url}`,
        "✗ k8s-debug (kubernetes): Sesame's service account may not create, update, delete rolebindings in namespace default, so grants or revokes there fail — give it create, get, list, update, delete on rolebindings (the Role in docs/providers.md)",
        "✗ k8s-debug (kubernetes): Sesame's service account may not bind Role debugger, so Kubernetes refuses any binding that grants more than Sesame holds itself — allow the bind verb on roles with resourceNames [debugger]",
        '✓ aws-admin (aws_identity_center): identity store d-0123456789 answers a user look-up with Sesame\'s credentials',
        `? aws-admin (aws_identity_center): cannot tell whether permission set ${PS} exists: AWS denied sso:DescribePermissionSet — allow sso:DescribePermissionSet (read-only) to let \`sesame doctor\` check it`,
        `✗ aws-admin (aws_identity_center): AWS denied Sesame sso:ListAccountAssignments on account 111122223333 (User is not authorized to perform: ListAccountAssignments) — allow sso:ListAccountAssignments on account 111122223333 to Sesame's role (see the least-privilege policy in docs/providers.md)`,
        '✓ gcp-sql (gcp_iam): Sesame can read the IAM policy of projects/payments-prod (1 bindings, 0 of them Sesame\'s for roles/cloudsql.client)',
        "✗ gcp-sql (gcp_iam): Sesame's service account lacks resourcemanager.projects.setIamPolicy on projects/payments-prod, so no grant can be written — give it roles/resourcemanager.projectIamAdmin there, or a custom role with resourcemanager.projects.getIamPolicy and resourcemanager.projects.setIamPolicy",
      ]);
    } finally {
      github.scopes = null;
      aws.deniedTargets.clear();
      gcp.missingPermissions.clear();
    }
  });

  it('fails each provider whose target does not exist: team, role, permission set or identity store, project', async () => {
    const policy = policyOf('missing', { team: 'no-such-team', kubeRole: 'no-such-role', permissionSet: 'arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-ffffffffffffffff', project: 'no-such-project' });
    const found = providerLines(await runDoctor(configWith({ POLICY_PATH: policy })));
    expect(found).toEqual([
      `✗ gh-ops (github_team): GitHub (127.0.0.1:${github.port}) has no team acme/no-such-team that the token in DOCTOR_GH_TOKEN can see — fix provider.org and provider.team (the slug in the team's URL), or give the token access to the organization`,
      `✗ k8s-debug (kubernetes): Role no-such-role does not exist in namespace default on ${kube.url}, so every grant binds nothing usable — create it, or fix provider.role and provider.namespace`,
      '✓ k8s-debug (kubernetes): Sesame may create, get, list, update, delete rolebindings in namespace default',
      '✓ k8s-debug (kubernetes): Sesame may bind Role no-such-role',
      '✓ aws-admin (aws_identity_center): identity store d-0123456789 answers a user look-up with Sesame\'s credentials',
      '✗ aws-admin (aws_identity_center): permission set ps-ffffffffffffffff does not exist in instance ssoins-0123456789abcdef (Could not find PermissionSet with PermissionSetArn), so every grant fails — fix provider.permission_set_arn and provider.instance_arn',
      '✓ aws-admin (aws_identity_center): Sesame may list the assignments of permission set ps-ffffffffffffffff on account 111122223333',
      "✗ gcp-sql (gcp_iam): Google refused to show Sesame the IAM policy of projects/no-such-project: it does not exist, or Sesame's service account may not read it — check provider.project, and give the service account roles/resourcemanager.projectIamAdmin there",
    ]);

    const wrongStore = policyOf('wrong-store', { identityStore: 'd-9999999999' });
    expect(providerLines(await runDoctor(configWith({ POLICY_PATH: wrongStore }))).filter((l) => l.includes('aws-admin'))).toEqual([
      `✗ aws-admin (aws_identity_center): identity store d-9999999999 cannot be read in ${AWS_BLOCK.region} (IDENTITY_STORE not found.) — fix provider.identity_store_id and provider.region (the Identity Center home region)`,
    ]);
  });

  it('says GitHub is rate-limiting rather than failing the team, and a missing token variable as a sentence', async () => {
    github.failNext({ status: 403, message: 'API rate limit exceeded', headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 600) } });
    const limited = providerLines(await runDoctor(configWith())).filter((l) => l.includes('gh-ops'));
    expect(limited).toEqual(['? gh-ops (github_team): cannot check acme/ops: GitHub (127.0.0.1:' + github.port + ') is rate-limiting the token in DOCTOR_GH_TOKEN — run `sesame doctor` again later; if it persists, something else is using the same token']);

    const unset = providerLines(await runDoctor(configWith({ DOCTOR_GH_TOKEN: undefined, DOCTOR_KUBE_TOKEN: undefined }))).filter((l) => /gh-ops|k8s-debug/.test(l));
    expect(unset).toEqual([
      `✗ gh-ops (github_team): DOCTOR_GH_TOKEN is not set, so Sesame cannot change acme/ops on 127.0.0.1:${github.port} — set DOCTOR_GH_TOKEN to a token with Members: read and write on acme (or the admin:org scope)`,
      "✗ k8s-debug (kubernetes): DOCTOR_KUBE_TOKEN is not set, so the kubernetes provider cannot work — set it in Sesame's environment",
    ]);
  });
});
