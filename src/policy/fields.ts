// Small field schemas shared by the policy and the provider blocks (a leaf module: providers import it safely).
import { z } from 'zod';
import { describeDurationError, parseDuration } from './duration.ts';

const DURATION_SHAPE = /^(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/;

/** A duration string ("90s", "30m", "2h", "1d", "1h30m"), parsed to milliseconds. */
export const durationSchema = z
  .string()
  .regex(DURATION_SHAPE, 'must be a duration like 90s, 30m, 2h, 1d or 1h30m')
  .transform((text, ctx) => {
    const parsed = parseDuration(text);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: describeDurationError(parsed.error) });
    return z.NEVER;
  });

export const name = (what: string) =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, `${what} names use letters, digits, ".", "_" and "-"`);
export const channelIdSchema = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel ID like C0123ABCD (channel details → bottom of the About tab)');
export const userIdSchema = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user ID like U0123ABCD');
export const usergroupIdSchema = z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group ID like S0123ABCD');
export const envVarSchema = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name like PROD_DB_HOOK_SECRET');
/** `settings.identities` and the identities file: Slack user id → { github: alice-gh, aws: alice@corp }. */
export const identitiesSchema = z.record(userIdSchema, z.record(name('identity table'), z.string().trim().min(1, 'must not be empty')));
