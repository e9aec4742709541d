// The slack_usergroup provider's view of Slack: uncached member lists and updates, with failures it can act on.
import type { WebClient } from '@slack/web-api';
import { ProviderError } from '../core/provider-error.ts';
import type { UsergroupApi } from '../providers/provider-module.ts';
import { isPlatformAnswer, type SlackCall } from './slack-api.ts';

/** Slack's answers that no retry changes, and what the operator should do about each. */
const PERMANENT: Record<string, string> = {
  no_such_subteam: 'does not exist in this workspace; fix provider.usergroup in the policy',
  subteam_not_found: 'does not exist in this workspace; fix provider.usergroup in the policy',
  missing_scope: 'cannot be changed: the Slack app lacks the usergroups:write scope; reinstall it from manifest.yaml',
  permission_denied: 'cannot be changed by the Sesame app; allow apps to manage user groups in the workspace settings',
  not_allowed_token_type: 'cannot be changed with this token; SLACK_BOT_TOKEN must be a bot token (xoxb-…)',
  invalid_users: 'cannot take that member list (Slack refuses an empty group or an unknown user)',
};

export function createUsergroupApi(client: WebClient, call: SlackCall): UsergroupApi {
  const failure = (usergroup: string, method: string, error: unknown): ProviderError => {
    const code = (error as { data?: { error?: string } } | null)?.data?.error;
    if (isPlatformAnswer(error)) {
      const advice = (code && PERMANENT[code]) ?? `was refused by Slack (${code ?? 'unknown error'})`;
      return new ProviderError(`Slack user group ${usergroup} ${advice}`, !(code && code in PERMANENT), { cause: error });
    }
    return new ProviderError(`Slack did not answer ${method} for user group ${usergroup}; it will be tried again`, true, { cause: error });
  };

  return {
    async members(usergroup) {
      try {
        const answer = await call('usergroups.users.list', () => client.usergroups.users.list({ usergroup, include_disabled: true }));
        return answer.users ?? [];
      } catch (error) {
        throw failure(usergroup, 'usergroups.users.list', error);
      }
    },
    async setMembers(usergroup, users) {
      try {
        await call('usergroups.users.update', () => client.usergroups.users.update({ usergroup, users: users.join(',') }));
      } catch (error) {
        throw failure(usergroup, 'usergroups.users.update', error);
      }
    },
  };
}
