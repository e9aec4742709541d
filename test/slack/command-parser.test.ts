// /access text → command, for every subcommand and the ways people mistype them.
import { describe, expect, it } from 'vitest';
import { parseAccessCommand } from '../../src/slack/command-parser.ts';

const ROLES: Record<string, string[]> = { 'prod-db': ['read', 'write'], sandbox: ['admin'] };
const parse = (text: string) => parseAccessCommand(text, (r) => ROLES[r]);
const H = 3_600_000;

describe('parseAccessCommand', () => {
  it.each([
    ['', { kind: 'help' }],
    ['   ', { kind: 'help' }],
    ['help', { kind: 'help' }],
    ['HELP', { kind: 'help' }],
    ['list', { kind: 'list' }],
    ['pending', { kind: 'pending' }],
    ['request', { kind: 'request_modal' }],
    ['request prod-db read 1h INC-42 debugging', { kind: 'request', resource: 'prod-db', role: 'read', duration: H, reason: 'INC-42 debugging' }],
    ['request prod-db 1h30m INC-42', { kind: 'request', resource: 'prod-db', role: undefined, duration: 1.5 * H, reason: 'INC-42' }],
    ['request prod-db debugging the thing', { kind: 'request', resource: 'prod-db', role: undefined, duration: undefined, reason: 'debugging the thing' }],
    ['request sandbox', { kind: 'request', resource: 'sandbox', role: undefined, duration: undefined, reason: '' }],
    ['request unknown-thing read 2h x', { kind: 'request', resource: 'unknown-thing', role: undefined, duration: undefined, reason: 'read 2h x' }],
    ['request   prod-db\twrite  2h  spaced   out', { kind: 'request', resource: 'prod-db', role: 'write', duration: 2 * H, reason: 'spaced out' }],
    ['request sandbox admin 1hour testing', { kind: 'request', resource: 'sandbox', role: 'admin', duration: H, reason: 'testing' }],
    ['request sandbox 90min testing', { kind: 'request', resource: 'sandbox', role: undefined, duration: 1.5 * H, reason: 'testing' }],
    ['request prod-db read 1.5h INC-1', { kind: 'request', resource: 'prod-db', role: 'read', duration: 1.5 * H, reason: 'INC-1' }],
    ['request prod-db read 2hours INC-1 40 rows', { kind: 'request', resource: 'prod-db', role: 'read', duration: 2 * H, reason: 'INC-1 40 rows' }],
    ['extend G17 45mins', { kind: 'extend', grantId: 17, duration: 45 * 60_000 }],
    ['breakglass prod-db write 4h INC-9 primary down 🔥', { kind: 'breakglass', resource: 'prod-db', role: 'write', duration: 4 * H, reason: 'INC-9 primary down 🔥' }],
    ['cancel R42', { kind: 'cancel', requestId: 42 }],
    ['cancel r42', { kind: 'cancel', requestId: 42 }],
    ['cancel 42', { kind: 'cancel', requestId: 42 }],
    ['revoke G17', { kind: 'revoke', grantId: 17 }],
    ['extend G17 30m', { kind: 'extend', grantId: 17, duration: 30 * 60_000 }],
    ['explain prod-db write 2h', { kind: 'explain', resource: 'prod-db', role: 'write', duration: 2 * H }],
    ['revoke-all <@U0ENG1|eng> laptop stolen SEC-9', { kind: 'revoke_all', user: 'U0ENG1', reason: 'laptop stolen SEC-9' }],
    ['revoke-all <@W0ENG1> offboarding', { kind: 'revoke_all', user: 'W0ENG1', reason: 'offboarding' }],
    ['REVOKE-ALL U0ENG1 offboarding', { kind: 'revoke_all', user: 'U0ENG1', reason: 'offboarding' }],
    ['unblock <@U0ENG1|eng>', { kind: 'unblock', user: 'U0ENG1' }],
    ['unblock U0ENG1', { kind: 'unblock', user: 'U0ENG1' }],
  ])('reads %j', (text, expected) => {
    expect(parse(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['frobnicate', { code: 'unknown_subcommand', input: 'frobnicate' }],
    ['breakglass', { code: 'missing_argument', subcommand: 'breakglass' }],
    ['cancel', { code: 'missing_argument', subcommand: 'cancel' }],
    ['cancel G4', { code: 'bad_id', input: 'G4', prefix: 'R' }],
    ['revoke R4', { code: 'bad_id', input: 'R4', prefix: 'G' }],
    ['extend G4', { code: 'missing_argument', subcommand: 'extend' }],
    ['extend G4 forever', { code: 'duration_malformed', input: 'forever' }],
    ['request prod-db read 0m why', { code: 'duration_zero' }],
    // A word that starts with a digit is a duration or a mistake, never silently the reason with a default length.
    ['request sandbox admin 1hourz testing', { code: 'duration_malformed', input: '1hourz' }],
    ['request prod-db read 500 errors since deploy', { code: 'duration_malformed', input: '500' }],
    ['request prod-db read 99999d why', { code: 'duration_too_large' }],
    ['explain', { code: 'missing_argument', subcommand: 'explain' }],
    // revoke-all needs a reason: an access cut nobody can explain later is not allowed.
    ['revoke-all <@U0ENG1>', { code: 'missing_argument', subcommand: 'revoke-all' }],
    ['revoke-all', { code: 'missing_argument', subcommand: 'revoke-all' }],
    ['revoke-all @alice stolen', { code: 'bad_user', subcommand: 'revoke-all', input: '@alice' }],
    ['revoke-all <#C0GENERAL|general> stolen', { code: 'bad_user', input: '<#C0GENERAL|general>' }],
    ['unblock', { code: 'missing_argument', subcommand: 'unblock' }],
    ['unblock <!channel>', { code: 'bad_user', subcommand: 'unblock' }],
  ])('refuses %j', (text, error) => {
    expect(parse(text)).toMatchObject({ ok: false, error });
  });

  it('refuses a 5,000-character reason, naming the limit', () => {
    expect(parse(`request sandbox 1h ${'x'.repeat(5_000)}`)).toMatchObject({ ok: false, error: { code: 'reason_too_long', length: 5_000, max: 1_000 } });
  });
});
