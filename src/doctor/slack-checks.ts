// Slack: the bot token works (auth.test), every channel the policy names exists and has Sesame in it, user groups exist.
import { redactCredentials, redactUrl } from '../core/redact.ts';
import type { WebClient } from '@slack/web-api';
import type { Policy } from '../policy/schema.ts';
import { policyChannels } from '../slack/channel-check.ts';
import { isPlatformAnswer } from '../slack/slack-api.ts';
import { errorText, failed, passed, type Finding } from './finding.ts';

const codeOf = (error: unknown): string | undefined => (error as { data?: { error?: string } } | null)?.data?.error;

/** Why Slack refused or could not be asked to verify the bot token, and what to do. */
function tokenProblem(error: unknown, apiUrl: string | undefined): { what: string; fix: string } {
  const code = codeOf(error);
  if (code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked') {
    return { what: `Slack refused SLACK_BOT_TOKEN (${code})`, fix: 'copy the Bot User OAuth Token again from your Slack app → OAuth & Permissions' };
  }
  return { what: `Could not reach Slack at ${redactUrl(apiUrl ?? 'https://slack.com/api/')} to verify the bot token (${redactCredentials(errorText(error))})`, fix: 'check the network, or SLACK_API_URL' };
}

/** The same, as the one sentence `sesame start` stops with. */
export function slackTokenSentence(error: unknown, apiUrl: string | undefined): string {
  const { what, fix } = tokenProblem(error, apiUrl);
  return `${what}; ${fix}.`;
}

export async function tokenFinding(client: WebClient, apiUrl: string | undefined): Promise<Finding> {
  try {
    const me = await client.auth.test();
    return passed(`Slack accepts SLACK_BOT_TOKEN (bot ${me.user ?? me.user_id ?? '?'} in team ${me.team_id ?? '?'})`);
  } catch (error) {
    const { what, fix } = tokenProblem(error, apiUrl);
    return failed(what, fix);
  }
}

export async function channelFindings(client: WebClient, policy: Policy): Promise<Finding[]> {
  const seen = new Set<string>();
  const channels = policyChannels(policy).filter(({ id }) => !seen.has(id) && seen.add(id));
  return Promise.all(
    channels.map(async ({ path, id }): Promise<Finding> => {
      try {
        const { channel } = await client.conversations.info({ channel: id });
        const name = channel?.name ? `#${channel.name} (${id})` : id;
        return channel?.is_member
          ? passed(`${path}: ${name} exists and Sesame is in it`)
          : failed(`${path}: ${name} exists but Sesame is not in it, so it cannot post there`, `invite it: /invite @Sesame in ${channel?.name ? `#${channel.name}` : id}`);
      } catch (error) {
        if (isPlatformAnswer(error) && codeOf(error) === 'channel_not_found') {
          return failed(`${path}: Slack does not know channel ${id}`, 'fix the ID in the policy, or invite Sesame to it (a private channel is invisible until then)');
        }
        return failed(`${path}: could not look up channel ${id} (${codeOf(error) ?? errorText(error)})`, 'check the Slack app has the channels:read and groups:read scopes (manifest.yaml)');
      }
    }),
  );
}

/** The workspace's user group IDs; thrown errors are sentences for the provider's finding. */
export function usergroupLister(client: WebClient): () => Promise<Set<string>> {
  let listed: Promise<Set<string>> | undefined;
  return () => {
    listed ??= client.usergroups.list({ include_disabled: true }).then(
      (answer) => new Set((answer.usergroups ?? []).map((g) => g.id ?? '')),
      (error: unknown) => {
        throw new Error(`cannot be checked: Slack did not list the user groups (${codeOf(error) ?? errorText(error)}); give the Slack app the usergroups:read scope (manifest.yaml)`);
      },
    );
    return listed;
  };
}
