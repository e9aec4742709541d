// The README's security model says what issue 11 guarantees, the configuration people copy is least privilege, and
// the policy reference names every setting.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../src/policy/schema.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');
/** The README's section from "## Security model" to the next heading, lines joined so phrases may wrap. */
const securityModel = (/\n## Security model\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '').replace(/\s*\n\s*/g, ' ');

describe("the README's security model", () => {
  it.each([
    ['replayed Slack requests act once', /acts once \(replays and retries are remembered in Redis\)/],
    ['approvals are re-decided under the current policy', /every approval is re-decided under the current policy/],
    ['one person counts once per request', /one person counts once per request/],
    ['guests and other workspaces are refused by default', /guests and people from other workspaces are refused unless `settings\.allow_guests`/],
    ['extensions stay within the maximum in total', /an extension stays within the tier's maximum in total/],
    ['break-glass honours eligible and its groups', /break-glass honours `eligible` and its groups/],
    ['every outbound call has a deadline, a frozen Redis included', /every outbound call has a deadline, so one stuck provider or a frozen Redis cannot hold the others up/],
    ['a stuck revoke ends revoke_failed, alerted', /a stuck revoke ends `revoke_failed` with the admins alerted/],
    ['revoke cuts access first and retries the clean-up', /cannot log in the moment revoke starts \(a clean-up that fails afterwards is announced and retried by the reconciler\)/],
    ["nothing a grantee created goes to Sesame's role", /never hand what the grantee created to Sesame's own role/],
    ['no plaintext password in SQL', /password never travels as plaintext SQL/],
    ['the credential DM', /keeps it out of the notification text and is deleted when the grant ends/],
    ['refused actions are audited, in the transaction of the change', /Every action, refused ones included, is one entry in the transaction that made the change/],
    ['nothing acts on an uncommitted entry', /nothing \(a provider call, a message, the SIEM, an anchor\) acts on an entry before it is committed/],
    ['verify proves the tables', /`sesame audit verify` proves the hash chain and that the requests and grants tables match it/],
    ['what an anchor proves', /An anchor proves that the log up to its entry existed, exactly as it is now, when the anchor was sent/],
    ['what an anchor cannot prove', /it proves nothing about entries written after the newest anchor, and an anchor kept where the bot token can write/],
    ['credentials in URLs are removed', /credentials inside URLs are removed wherever a URL is shown/],
    ['timestamped webhook signatures and the receiver example', /refuses when `t` is more than 5 minutes off, as the receiver example in \[docs\/providers\.md\]\(docs\/providers\.md\) does/],
    ['http:// webhooks are refused', /a webhook over `http:\/\/` is refused unless it is loopback or its block sets `insecure_http: true`/],
    ['SQLite trouble', /Trouble with SQLite \(locked, disk full\) never kills it: a policy reload it cannot record keeps the old policy, and `\/readyz` says the database is not writable/],
    ['SIGTERM', /SIGTERM lets a grant already acknowledged finish, be recorded and be answered before exit/],
    ['one process per database', /A second Sesame on the same SQLite file refuses to start \(one that died never blocks the next\)/],
    ['a maintained Node LTS', /The container runs on Node 22 LTS/],
  ])('says %s', (_what, statement) => {
    expect(securityModel).toMatch(statement);
  });
});

describe('the PostgreSQL connection people copy', () => {
  it('is a dedicated sesame role with CREATEROLE, never the postgres superuser, in .env.example and the README', () => {
    const example = read('.env.example');
    expect(example).toContain("CREATE ROLE sesame LOGIN CREATEROLE PASSWORD '…';");
    expect(example).toMatch(/^STAGING_PG_URL=postgres:\/\/sesame:/m);
    expect(example).not.toMatch(/postgres:\/\/postgres[:@]/);
    expect(readme).toContain("`CREATE ROLE sesame LOGIN CREATEROLE PASSWORD '…';`");
    expect(readme).toMatch(/never as\s+the `postgres` superuser/);
  });

  it('says that a grant and sesame doctor both refuse a powerful reassign_owned_to role', () => {
    expect(read('docs/commands.md')).toMatch(/\| `postgres` provider \|[^\n]*a `reassign_owned_to` role has no `SUPERUSER`, `CREATEROLE` or `BYPASSRLS`/);
    expect(read('docs/providers.md').replace(/\s*\n\s*/g, ' ')).toMatch(/With `reassign_owned_to`, the grant is refused[^.]*superuser, has `CREATEROLE` or `BYPASSRLS`[^]*?`sesame doctor` checks the same/);
  });
});

describe('the policy reference', () => {
  it('documents every settings key, allow_guests and the anchor settings included', () => {
    const reference = read('docs/policy.md');
    const keys = Object.keys(settingsSchema.shape);
    expect(keys).toEqual(expect.arrayContaining(['allow_guests', 'anchor_every', 'anchor_url', 'anchor_secret_env']));
    expect(keys.filter((key) => !reference.includes(`| \`${key}\` |`))).toEqual([]);
  });
});
