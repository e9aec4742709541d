// `/access revoke-all` and `/access unblock`: the admin's reply, and the audit channel told once the access is gone.
import type { WebClient } from '@slack/web-api';
import type { RevokeAllOutcome } from '../core/user-blocks.ts';
import type { ListenerDeps } from './listener-deps.ts';
import { explain } from './messages.ts';
import { code, mention } from './text.ts';

/** What the admins read in the audit channel, and the admin who ran it in their reply. */
export function revokeAllSummary(out: RevokeAllOutcome, by: string): string {
  const who = mention(out.user);
  const own = out.ended.filter((g) => !out.endedApproved.includes(g));
  const ended = own.length === 0 ? 'held no live grant' : `lost ${own.length} grant(s): ${own.map(code).join(', ')}`;
  const theirs = out.endedApproved.length === 0 ? '' : ` ${out.endedApproved.length} grant(s) of others that ${who} approved were revoked: ${out.endedApproved.map(code).join(', ')}.`;
  const pending = out.cancelled === 0 ? '' : ` ${out.cancelled} pending request(s) were cancelled.`;
  const approved = out.approvalsCancelled === 0 ? '' : ` ${out.approvalsCancelled} request(s) of others that ${who} approved were cancelled.`;
  const reviews = out.reviewsReopened === 0 ? '' : ` ${out.reviewsReopened} review(s) ${who} gave in the last 30 days wait for review again.`;
  const cancelled = `${pending}${out.windowsCancelled === 0 ? '' : ` ${out.windowsCancelled} scheduled window(s) were cancelled.`}${approved}${theirs}${reviews}`;
  const blocked = `${who} is blocked from requesting access until an admin runs ${code(`/access unblock ${out.user}`)}.`;
  if (out.failed.length === 0) return `🔒 ${mention(by)} ran revoke-all: ${who} ${ended}; all their access is confirmed gone.${cancelled} ${blocked}`;
  const failing = out.failed.map((f) => `${code(f.grantId)} (${code(f.problem)})`).join(', ');
  return `⚠️ ${mention(by)} ran revoke-all: ${who} ${ended}, but revoking ${failing} failed; Sesame keeps retrying those.${cancelled} ${blocked}`;
}

/** The audit channel's line when revokes that failed during revoke-all have since succeeded. */
export const revokeAllCleared = (user: string, grantIds: string[]): string =>
  `🔒 revoke-all: all access of ${mention(user)} is now confirmed gone (${grantIds.map(code).join(', ')} ended after retrying).`;

export async function runRevokeAll(deps: ListenerDeps, client: WebClient, by: string, user: string, reason: string): Promise<string> {
  const out = await deps.blocks.revokeAll(user, by, reason);
  if (!out.ok) return explain(out.error);
  const summary = revokeAllSummary(out.value, by);
  const channel = deps.policy().policy.settings.audit_channel;
  if (channel) {
    await client.chat.postMessage({ channel, text: summary, unfurl_links: false }).catch((error: unknown) => deps.log.warn({ problem: String(error) }, 'could not tell the audit channel about revoke-all'));
  }
  return summary;
}

export async function runUnblock(deps: ListenerDeps, by: string, user: string): Promise<string> {
  const out = await deps.blocks.unblock(user, by);
  return out.ok ? `🔓 ${mention(user)} may request access again.` : explain(out.error);
}
