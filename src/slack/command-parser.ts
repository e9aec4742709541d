// Parses the text of `/access …` into a command; pure, so every form is table-tested.
import { parseRef } from '../core/ids.ts';
import { err, ok, type Result } from '../core/result.ts';
import { looksLikeDuration, parseDuration, type DurationError, type Ms } from '../policy/duration.ts';
import { looksLikeStart, parseStart, type StartError, type StartSpec } from './start-time.ts';

/** Reasons are shown on cards and in DMs; past this they stop being reasons. */
export const MAX_REASON_LENGTH = 1_000;

export interface AccessTarget {
  resource: string;
  role?: string | undefined;
  duration?: Ms | undefined;
  /** `at …` after the duration: a window that starts later, still to be placed in the requester's time zone. */
  start?: StartSpec | undefined;
}

export type AccessCommand =
  | { kind: 'help' }
  | { kind: 'request_modal' }
  | ({ kind: 'request' | 'breakglass'; reason: string } & AccessTarget)
  | { kind: 'list' }
  | { kind: 'pending' }
  | { kind: 'cancel'; requestId: number }
  | { kind: 'revoke'; grantId: number }
  | { kind: 'extend'; grantId: number; duration: Ms }
  | ({ kind: 'explain' } & AccessTarget)
  | { kind: 'revoke_all'; user: string; reason: string }
  | { kind: 'unblock'; user: string };

export type CommandError =
  | DurationError
  | StartError
  | { code: 'unknown_subcommand'; input: string }
  | { code: 'missing_argument'; subcommand: string; usage: string }
  | { code: 'bad_id'; subcommand: string; input: string; prefix: 'R' | 'G' }
  | { code: 'reason_too_long'; length: number; max: number }
  | { code: 'bad_user'; subcommand: 'revoke-all' | 'unblock'; input: string };

export const USAGE = {
  request: '/access request <resource> [role] [duration] [at <start>] [reason…]',
  breakglass: '/access breakglass <resource> [role] [duration] <reason…>',
  cancel: '/access cancel <request-id>',
  revoke: '/access revoke <grant-id>',
  extend: '/access extend <grant-id> <duration>',
  explain: '/access explain <resource> [role] [duration] [at <start>]',
  'revoke-all': '/access revoke-all <@person> <reason…>',
  unblock: '/access unblock <@person>',
} as const;

/** A person named as a mention (`<@U123>` or `<@U123|name>`, as Slack escapes it) or as a bare member ID; null otherwise. */
export function parseUser(word: string): string | null {
  const match = /^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]+))$/.exec(word);
  return match ? ((match[1] ?? match[2]) as string) : null;
}

/** `rolesOf(resource)` says which words name a role of that resource (undefined for unknown resources). */
export function parseAccessCommand(text: string, rolesOf: (resource: string) => readonly string[] | undefined): Result<AccessCommand, CommandError> {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first, ...rest] = words;
  const subcommand = first?.toLowerCase();
  switch (subcommand) {
    case undefined:
    case 'help':
      return ok({ kind: 'help' });
    case 'list':
      return ok({ kind: 'list' });
    case 'pending':
      return ok({ kind: 'pending' });
    case 'request':
    case 'breakglass': {
      if (rest.length === 0) return subcommand === 'request' ? ok({ kind: 'request_modal' }) : missing('breakglass');
      const target = parseTarget(rest, rolesOf);
      if (!target.ok) return target;
      const reason = target.value.rest.join(' ');
      if (reason.length > MAX_REASON_LENGTH) return err({ code: 'reason_too_long', length: reason.length, max: MAX_REASON_LENGTH });
      const { rest: _rest, ...accessTarget } = target.value;
      return ok({ kind: subcommand, ...accessTarget, reason });
    }
    case 'explain': {
      if (rest.length === 0) return missing('explain');
      const target = parseTarget(rest, rolesOf);
      if (!target.ok) return target;
      const { rest: _rest, ...accessTarget } = target.value;
      return ok({ kind: 'explain', ...accessTarget });
    }
    case 'cancel':
    case 'revoke': {
      const prefix = subcommand === 'cancel' ? 'R' : 'G';
      if (rest[0] === undefined) return missing(subcommand);
      const id = parseRef(prefix, rest[0]);
      if (id === null) return err({ code: 'bad_id', subcommand, input: rest[0], prefix });
      return ok(subcommand === 'cancel' ? { kind: 'cancel', requestId: id } : { kind: 'revoke', grantId: id });
    }
    case 'extend': {
      if (rest[0] === undefined || rest[1] === undefined) return missing('extend');
      const id = parseRef('G', rest[0]);
      if (id === null) return err({ code: 'bad_id', subcommand, input: rest[0], prefix: 'G' });
      const duration = parseDuration(rest[1]);
      return duration.ok ? ok({ kind: 'extend', grantId: id, duration: duration.value }) : duration;
    }
    case 'revoke-all':
    case 'unblock': {
      if (rest[0] === undefined || (subcommand === 'revoke-all' && rest[1] === undefined)) return missing(subcommand);
      const user = parseUser(rest[0]);
      if (user === null) return err({ code: 'bad_user', subcommand, input: rest[0] });
      if (subcommand === 'unblock') return ok({ kind: 'unblock', user });
      const reason = rest.slice(1).join(' ');
      if (reason.length > MAX_REASON_LENGTH) return err({ code: 'reason_too_long', length: reason.length, max: MAX_REASON_LENGTH });
      return ok({ kind: 'revoke_all', user, reason });
    }
    default:
      return err({ code: 'unknown_subcommand', input: first ?? '' });
  }
}

function parseTarget(words: string[], rolesOf: (resource: string) => readonly string[] | undefined): Result<AccessTarget & { rest: string[] }, CommandError> {
  const [resource, ...rest] = words as [string, ...string[]];
  let role: string | undefined;
  if (rest[0] !== undefined && rolesOf(resource)?.includes(rest[0])) role = rest.shift();
  let duration: Ms | undefined;
  if (rest[0] !== undefined && looksLikeDuration(rest[0])) {
    const parsed = parseDuration(rest[0]);
    if (!parsed.ok) return parsed;
    duration = parsed.value;
    rest.shift();
  }
  let start: StartSpec | undefined;
  if (rest[0]?.toLowerCase() === 'at' && looksLikeStart(rest[1])) {
    const parsed = parseStart(rest.slice(1));
    if (!parsed.ok) return parsed;
    start = parsed.value.spec;
    rest.splice(0, 1 + parsed.value.used);
  }
  return ok({ resource, role, duration, ...(start ? { start } : {}), rest });
}

const missing = (subcommand: keyof typeof USAGE): Result<never, CommandError> => err({ code: 'missing_argument', subcommand, usage: USAGE[subcommand] });
