// The providers the contract suite runs against, each with its backend (real or a stand-in) and its ways to fail.
import pg from 'pg';
import { expect } from 'vitest';
import type { GrantSubject, Provider } from '../../src/core/ports.ts';
import { createProviders } from '../../src/providers/registry.ts';
import type { ProviderConfig } from '../../src/policy/schema.ts';
import { createWebClient } from '../../src/slack/slack-api.ts';
import { createUsergroupApi } from '../../src/slack/usergroup-api.ts';
import { FakeSlack } from './fake-slack.ts';
import { GithubStandIn } from './stand-ins/github.ts';
import { IdentityCenterStandIn } from './stand-ins/aws-identity-center.ts';
import { GcpStandIn } from './stand-ins/gcp.ts';
import { KubernetesStandIn } from './stand-ins/kubernetes.ts';
import { makeTestPki } from './stand-ins/test-pki.ts';
import { FlakyTcpProxy } from './stand-ins/flaky-tcp-proxy.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

export interface ProviderCase {
  name: string;
  config: ProviderConfig;
  make(config: ProviderConfig): Provider;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The backend fails the next call the way a busy service does (5xx, throttling, a dropped connection). */
  failNextTransient(provider: Provider): void | Promise<void>;
  /** Injected faults not yet hit, where the backend can tell. */
  faultsLeft?(): number;
  /** A block the backend refuses for good, and the sentence the refusal must contain. */
  permanent(): { config: ProviderConfig; message: RegExp };
  /** Asserts the backend itself ends the access at the subject's expiry, for providers that can. */
  expectExpiry?(subject: GrantSubject): Promise<void>;
  /** Whether the person has the access at the backend, looked at directly rather than through the provider's check. */
  holds?(subject: GrantSubject): Promise<boolean>;
}

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const HOOK_SECRET = 'contract-secret';
const GITHUB_TOKEN = 'ghp_contract_token';
const KUBE_TOKEN = 'kube-contract-token';
const AWS_KEY_ID = 'AKIACONTRACT00000000';
export const AWS_BLOCK = {
  type: 'aws_identity_center',
  instance_arn: 'arn:aws:sso:::instance/ssoins-0123456789abcdef',
  identity_store_id: 'd-0123456789',
  account_id: '111122223333',
  permission_set_arn: 'arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef',
  region: 'eu-central-1',
  identity: 'email',
} as const;

export function providerCases(): ProviderCase[] {
  const slack = new FakeSlack();
  const receiver = new WebhookReceiver(HOOK_SECRET);
  const pgProxy = new FlakyTcpProxy('127.0.0.1', 5432);
  const env: Record<string, string | undefined> = { HOOK_SECRET };
  const make = (config: ProviderConfig): Provider =>
    createProviders({ env, usergroups: createUsergroupApi(createWebClient('xoxb-test', slack.apiUrl), (_m, call) => call()) }).for(config);
  const usergroup = 'S0CONTRACT';
  const github = new GithubStandIn(GITHUB_TOKEN);
  const pki = makeTestPki();
  const kube = new KubernetesStandIn(pki, KUBE_TOKEN);
  const aws = new IdentityCenterStandIn(AWS_KEY_ID);
  const gcp = new GcpStandIn();

  return [
    {
      name: 'webhook',
      // A getter: the receiver's port is known only once it listens.
      get config(): ProviderConfig {
        return { type: 'webhook', url: receiver.url, secret_env: 'HOOK_SECRET', check: true, insecure_http: false };
      },
      make,
      start: async () => void (await receiver.start()),
      stop: () => receiver.stop(),
      failNextTransient: () => void (receiver.failNext = 1),
      faultsLeft: () => receiver.failNext,
      permanent: () => ({
        config: { type: 'webhook', url: receiver.url, secret_env: 'CONTRACT_UNSET_SECRET', check: true, insecure_http: false },
        message: /^CONTRACT_UNSET_SECRET is not set, so the webhook at .+ cannot work; set it in Sesame's environment and restart$/,
      }),
    },
    {
      name: 'slack_usergroup',
      config: { type: 'slack_usergroup', usergroup },
      make,
      start: async () => {
        await slack.start();
        slack.usergroups.set(usergroup, ['U0KEEP1']);
      },
      stop: () => slack.stop(),
      failNextTransient: () => slack.failNext('usergroups.users.list', { status: 500 }),
      permanent: () => ({ config: { type: 'slack_usergroup', usergroup: 'S0NOPE' }, message: /^Slack user group S0NOPE does not exist in this workspace; fix provider\.usergroup/ }),
      holds: async (subject) => (slack.usergroups.get(usergroup) ?? []).includes(subject.user.slackId),
    },
    {
      name: 'postgres',
      config: { type: 'postgres', connection_env: 'CONTRACT_PG_URL', roles: { read: 'pg_read_all_data' } },
      make,
      start: async () => {
        await pgProxy.start();
        env.CONTRACT_PG_URL = `postgres://postgres@127.0.0.1:${pgProxy.port}/test`;
      },
      stop: () => pgProxy.stop(),
      failNextTransient: async (provider) => {
        // A fresh pool must dial again (pooled connections would hide the fault), and the dial is dropped.
        await provider.close?.();
        pgProxy.dropNext = 1;
      },
      faultsLeft: () => pgProxy.dropNext,
      permanent: () => ({
        config: { type: 'postgres', connection_env: 'CONTRACT_PG_URL', roles: { read: 'sesame_contract_no_such_role' } },
        message: /^the database role sesame_contract_no_such_role \(mapped from "read"\) does not exist; create it or fix provider\.roles$/,
      }),
      async expectExpiry(subject) {
        const admin = new pg.Client({ connectionString: PG_URL });
        await admin.connect();
        try {
          const { rows } = await admin.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [`sesame_${subject.grantId.toLowerCase()}`]);
          expect(rows[0]?.rolvaliduntil).toEqual(subject.expiresAt);
        } finally {
          await admin.end();
        }
      },
    },
    {
      name: 'github_team',
      get config(): ProviderConfig {
        return { type: 'github_team', org: 'acme', team: 'ops', role: 'member', token_env: 'GITHUB_TOKEN', base_url: github.baseUrl, identity: 'username' };
      },
      make,
      start: async () => {
        await github.start();
        github.openOrg = true;
        github.teams.set('acme/ops', new Map([['standing-lead', 'maintainer']]));
        env.GITHUB_TOKEN = GITHUB_TOKEN;
      },
      stop: () => github.stop(),
      failNextTransient: () => github.failNext({ status: 502, message: 'Server Error' }),
      faultsLeft: () => github.failuresLeft,
      permanent: () => ({
        config: { type: 'github_team', org: 'acme', team: 'no-such-team', role: 'member', token_env: 'GITHUB_TOKEN', base_url: github.baseUrl, identity: 'username' },
        message: /^GitHub \(127\.0\.0\.1:\d+\) has no team acme\/no-such-team the token can see; fix provider\.org and provider\.team, or the token's access$/,
      }),
      holds: async (subject) => github.role('acme/ops', subject.identity ?? '') !== undefined,
    },
    {
      name: 'kubernetes',
      get config(): ProviderConfig {
        return { type: 'kubernetes', server: kube.url, token_env: 'KUBE_TOKEN', ca_env: 'KUBE_CA', namespace: 'default', role: 'debugger', subject_kind: 'User', identity: 'email' };
      },
      make,
      start: async () => {
        await kube.start();
        Object.assign(env, { KUBE_TOKEN, KUBE_CA: pki.caPem });
      },
      stop: () => kube.stop(),
      failNextTransient: () => kube.failNext({ code: 503, reason: 'ServiceUnavailable' }),
      faultsLeft: () => kube.failuresLeft,
      permanent: () => ({
        config: { type: 'kubernetes', server: kube.url, token_env: 'KUBE_TOKEN', ca_env: 'KUBE_CA', namespace: 'no-such-ns', role: 'debugger', subject_kind: 'User', identity: 'email' },
        message: /^Kubernetes could not create RoleBinding sesame-g\d+: namespaces "no-such-ns" not found; check provider\.namespace$/,
      }),
      async expectExpiry(subject) {
        const annotations = kube.binding('default', `sesame-${subject.grantId.toLowerCase()}`)?.metadata.annotations as Record<string, string> | undefined;
        expect(annotations?.['sesame.dev/expires-at']).toBe(subject.expiresAt.toISOString());
      },
    },
    {
      name: 'aws_identity_center',
      config: { ...AWS_BLOCK },
      make,
      start: async () => {
        await aws.start();
        aws.autoUsers = true;
        // The SDK reads the standard chain and endpoint setting from the process environment, as in production.
        Object.assign(process.env, { AWS_ENDPOINT_URL: aws.url, AWS_ACCESS_KEY_ID: AWS_KEY_ID, AWS_SECRET_ACCESS_KEY: 'contract-secret-key', AWS_REGION: 'eu-central-1' });
      },
      stop: () => aws.stop(),
      failNextTransient: () => aws.failNext({ status: 400, type: 'ThrottlingException', message: 'Rate exceeded' }, { status: 500, type: 'InternalServerException' }),
      faultsLeft: () => aws.failuresLeft,
      permanent: () => ({
        config: { ...AWS_BLOCK, instance_arn: 'arn:aws:sso:::instance/ssoins-ffffffffffffffff' },
        message: /^AWS IAM Identity Center could not list the assignments of permission set ps-0123456789abcdef on account 111122223333: ResourceNotFoundException: Instance not found$/,
      }),
      holds: async (subject) => [...aws.users.entries()].some(([id, u]) => u.email === subject.identity && aws.hasAssignment(AWS_BLOCK.account_id, AWS_BLOCK.permission_set_arn, id)),
    },
    {
      name: 'gcp_iam',
      config: { type: 'gcp_iam', project: 'sesame-contract', role: 'roles/storage.objectViewer', identity: 'email' },
      make,
      start: async () => {
        await gcp.start();
        gcp.addResource('projects/sesame-contract', [{ role: 'roles/storage.objectViewer', members: ['user:standing@example.com'] }]);
        // ADC reads the process environment (as in production); the API root comes through the provider's env.
        gcp.useAsAdc(process.env);
        env.CLOUD_RESOURCE_MANAGER_URL = process.env.CLOUD_RESOURCE_MANAGER_URL;
      },
      stop: () => gcp.stop(),
      failNextTransient: () => gcp.failNext({ code: 503, status: 'UNAVAILABLE' }),
      faultsLeft: () => gcp.failuresLeft,
      permanent: () => ({
        config: { type: 'gcp_iam', project: 'no-such-project', role: 'roles/storage.objectViewer', identity: 'email' },
        message: /^Google refused to let Sesame read the IAM policy on projects\/no-such-project \(.*\); give its service account roles\/resourcemanager\.projectIamAdmin there/,
      }),
      async expectExpiry(subject) {
        const ours = gcp.bindingsOf('projects/sesame-contract').find((b) => b.condition?.title === `sesame ${subject.grantId}`);
        expect(ours?.condition?.expression).toBe(`request.time < timestamp("${subject.expiresAt.toISOString()}")`);
      },
      holds: async (subject) => gcp.bindingsOf('projects/sesame-contract').some((b) => b.members.includes(`user:${subject.identity}`) && b.condition !== undefined),
    },
  ];
}
