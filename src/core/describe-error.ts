// One exhaustive sentence per domain error, saying what was wrong and what to do; front ends choose how names look.
import { describeDurationError, formatDuration } from '../policy/duration.ts';
import type { DomainError } from './errors.ts';

/** How a front end shows a literal name or command: backticks in Slack, quotes in a terminal. */
export type Quote = (text: string) => string;

const plainQuote: Quote = (text) => `"${text}"`;

const orList = (items: string[], q: Quote): string => {
  const quoted = items.map(q);
  return quoted.length <= 1 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
};

export function describeError(e: DomainError, q: Quote = plainQuote): string {
  switch (e.code) {
    case 'duration_malformed':
    case 'duration_zero':
    case 'duration_too_large':
      return describeDurationError(e);
    case 'unknown_resource':
      return e.closest.length > 0
        ? `There is no resource ${q(e.input)}. Did you mean ${orList(e.closest, q)}?`
        : `There is no resource ${q(e.input)}. Type ${q('/access help')} to see what you can request.`;
    case 'unknown_role':
      return `${q(e.resource)} has no role ${q(e.input)}; choose ${orList(e.roles, q)}.`;
    case 'role_required':
      return `${q(e.resource)} has several roles; name one: ${orList(e.roles, q)}.`;
    case 'not_eligible':
      return `Only members of ${orList(e.eligible, q)} may request ${q(e.resource)}; ask one of them, or ask to be added to the group.`;
    case 'duration_too_long':
      return `${formatDuration(e.requested)} is longer than the ${formatDuration(e.max)} maximum for ${e.tier}-tier access; ask for ${formatDuration(e.max)} or less, and extend later if you need to.`;
    case 'extension_too_long': {
      // Whole minutes: what a person can type, and never more than is really left.
      const allowance = Math.floor(e.allowance / 60_000) * 60_000;
      const endsIn = `it ends in ${formatDuration(Math.floor(e.endsIn / 60_000) * 60_000 || Math.min(e.endsIn, 60_000))}`;
      const room = allowance > 0 ? `it can be extended by at most ${formatDuration(allowance)} more (${endsIn})` : `it cannot be extended any further (${endsIn})`;
      return `Extending ${q(e.grantId)} by ${formatDuration(e.by)} would make it last ${formatDuration(e.total)} from start to end, more than the ${formatDuration(e.max)} maximum for ${e.tier}-tier access; ${room}. If you need more after that, request access again.`;
    }
    case 'conditions_unmet':
      return `${q(e.resource)} is granted only when every condition holds, and these did not: ${e.unmet.join('; ')}.`;
    case 'outsider_refused':
      return e.standing === 'guest'
        ? 'Slack guests cannot request or approve access here; ask a full member of this workspace to do it, or ask your Sesame admins to set settings.allow_guests.'
        : 'People from another Slack workspace cannot request or approve access here; ask a member of this workspace to do it, or ask your Sesame admins to set settings.allow_guests.';
    case 'approvals_changed':
      return `the policy now asks for different approvals for ${e.tier}-tier access, so the request must be made again.`;
    case 'bundle_member_refused':
      return `Bundle ${q(e.bundle)} is requested as a whole, and ${q(e.member)} in it is refused: ${describeError(e.cause, q).replace(/^./, (c) => c.toLowerCase())} Ask for the bundle's other members one by one if you need them.`;
    case 'bundle_changed':
      return `the policy now lists different members for bundle ${q(e.bundle)}, so the request must be made again.`;
    case 'no_longer_allowed':
      return `Request ${q(e.requestId)} was cancelled, not granted, because the policy in force now does not allow it: ${e.cause.code === 'approvals_changed' || e.cause.code === 'bundle_changed' ? describeError(e.cause, q) : describeError(e.cause, q).replace(/^./, (c) => c.toLowerCase())} The requester was told.`;
    case 'reason_required':
      return 'Break-glass needs a reason: say what the incident is, e.g. INC-42 database down.';
    case 'breakglass_not_configured':
      return 'Break-glass is not set up in this policy; use an ordinary request, or ask an admin to add a breakglass section.';
    case 'breakglass_wrong_channel':
      return e.channel
        ? `Break-glass works only in incident channels (${orList(e.allowed, q)}), not in #${e.channel}; run it from the incident's channel.`
        : `Break-glass works only in incident channels (${orList(e.allowed, q)}), and I cannot tell this one's name: not from a DM, and in a private channel invite @Sesame first.`;
    case 'breakglass_not_in_group':
      return `Break-glass is for members of ${orList(e.groups, q)}; ask someone on call, or use an ordinary request.`;
    case 'breakglass_rate_limited':
      return `You have already broken glass ${e.max} times in the last hour, the most the policy allows; security has been alerted. Ask an admin, or use an ordinary request.`;
    case 'not_breakglass':
      return `${q(e.grantId)} is not a break-glass grant, so there is nothing to acknowledge.`;
    case 'already_reviewed':
      return `${q(e.grantId)} was already acknowledged (by ${e.by}), so nothing was changed.`;
    case 'review_not_configured':
      return 'The policy names nobody to review break-glass; ask an admin to set breakglass.review_by.';
    case 'review_own':
      return `${q(e.grantId)} is your own break-glass use; someone else in the review group must acknowledge it.`;
    case 'review_not_in_group':
      return `Only members of ${q(e.group)} may acknowledge break-glass uses like ${q(e.grantId)}.`;
    case 'request_not_found':
      return `There is no request ${q(e.requestId)}; ${q('/access list')} shows yours.`;
    case 'grant_not_found':
      return `There is no grant ${q(e.grantId)}; ${q('/access list')} shows yours.`;
    case 'not_pending':
      return `Request ${q(e.requestId)} is already ${e.state.replace('_', ' ')}, so nothing was changed.`;
    case 'not_active':
      return `Grant ${q(e.grantId)} is ${e.state.replace('_', ' ')}, not active, so nothing was changed.`;
    case 'not_requester':
      return `Request ${q(e.requestId)} is not yours; only the person who asked can cancel it.`;
    case 'not_grant_owner':
      return `Grant ${q(e.grantId)} is not yours; only its holder (or an admin, for revoking) can change it.`;
    case 'not_in_step_group':
      if (e.escalation?.done) return `Request ${q(e.requestId)} is waiting for someone in ${q(e.group)} or ${q(e.escalation.to)}, and you are in neither.`;
      if (e.escalation) return `Request ${q(e.requestId)} is waiting for someone in ${q(e.group)}, and you are not in that group; ${q(e.escalation.to)} may decide only once it escalates to them.`;
      return `Request ${q(e.requestId)} is waiting for someone in ${q(e.group)}, and you are not in that group.`;
    case 'not_team_lead':
      return `Request ${q(e.requestId)} is waiting for the requester's team leads (${e.leads.map((u) => `<@${u}>`).join(', ')}), and you are not one of them.`;
    case 'review_not_pending':
      return `Grant ${q(e.grantId)} is not waiting for a review (it is still live, was reviewed already, or its tier asks for none), so nothing was changed.`;
    case 'review_own_grant':
      return `${q(e.grantId)} was your own access; someone else among its reviewers must review it.`;
    case 'flag_reason_required':
      return 'Say what looks wrong: the admins are alerted with your reason.';
    case 'not_reviewer':
      return `Only ${e.group !== null ? `members of ${q(e.group)}` : `the grantee's team leads (${e.leads.map((u) => `<@${u}>`).join(', ')})`} may review grant ${q(e.grantId)}, and never the person who held it.`;
    case 'self_approval':
      return `You cannot decide on your own request ${q(e.requestId)}; someone else in the approving group has to.`;
    case 'already_approved':
      return `You have already approved request ${q(e.requestId)} at this step; it needs someone else now.`;
    case 'approved_earlier_step':
      return `You already approved request ${q(e.requestId)} at step ${e.step + 1}; each step needs different people, so someone else must approve this one.`;
    case 'scheduler_unavailable':
      return 'Sesame cannot schedule revocations right now (its Redis is unreachable), so it grants nothing routine; try again in a few minutes. In an incident, use break-glass.';
    case 'expiry_in_past':
      return `Grant ${q(e.grantId)} would already have ended; check the server's clock and try again.`;
    case 'blocked_decider':
      return `An admin has blocked your account (revoke-all), so you cannot approve, deny or review until an admin lifts it with ${q('/access unblock')}.`;
    case 'approval_by_blocked':
      return `Request ${q(e.requestId)} rests on an approval (step ${e.step + 1}) by <@${e.approver}>, whom an admin blocked with revoke-all after that approval (an unblock does not restore it), so it can go no further; the requester can ask again.`;
    case 'user_blocked':
      return `An admin has blocked your access requests (after revoking your access); ask an admin, who can lift it with ${q('/access unblock')}.`;
    case 'not_admin':
      return `Only admins may use ${q(`/access ${e.action}`)}; ask one of them.`;
    case 'not_blocked':
      return `${q(e.user)} is not blocked, so there is nothing to unblock.`;
    case 'self_block':
      return `You cannot run ${q('/access revoke-all')} on yourself: it would take away your own admin powers, and only another admin could lift it. If your account needs blocking, ask another admin.`;
    case 'start_in_past':
      return `The start you asked for (${new Date(e.startsAt).toISOString()}) has already passed; leave out ${q('at …')} to start now, or give a later time.`;
    case 'start_too_far':
      return `The start you asked for (${new Date(e.startsAt).toISOString()}) is more than ${formatDuration(e.max)} ahead, the furthest this policy schedules (settings.max_schedule_ahead); ask closer to the time.`;
    case 'breakglass_scheduled':
      return `Break-glass is for now and cannot be scheduled; leave out ${q('at …')}, or use ${q('/access request')} for planned work.`;
  }
}
