// settings.identities_file: the identities table in a YAML or JSON file beside the policy, validated like the inline table,
// with line-numbered problems, one place per user, re-read on reload and checked by `sesame policy check`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatProblem, loadPolicyFile } from '../../src/policy/load.ts';
import { createPolicyWatcher, type PolicyWatcher } from '../../src/policy-watcher.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { silentLogger } from '../support/fakes.ts';
import { aPolicyInput } from '../support/policy-fixtures.ts';
import { sesame } from '../support/run-cli.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';

describe('settings.identities_file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-identities-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A policy in its own folder naming `identitiesFile`, with `inline` as settings.identities. */
  const policyWith = (name: string, identitiesFile: string, inline: Record<string, Record<string, string>> = {}): string => {
    const folder = join(dir, name);
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const file = join(folder, 'policy.yaml');
    writeFileSync(file, stringify(aPolicyInput({ settings: { identities: inline, identities_file: identitiesFile } })));
    return file;
  };
  const problems = async (policy: string) => {
    const loaded = await loadPolicyFile(policy);
    if (loaded.ok) throw new Error('expected the policy to be refused');
    return loaded.error.map(formatProblem);
  };

  it('merges a YAML file, relative to the policy, into settings.identities', async () => {
    const policy = policyWith('yaml', 'people/identities.yaml', { U0CAROL: { github: 'carol-gh' } });
    mkdirSync(join(dir, 'yaml', 'people'), { recursive: true });
    writeFileSync(join(dir, 'yaml', 'people', 'identities.yaml'), '# kept by HR sync\nU0ALICE: { github: alice-gh, aws: alice@corp.example }\nU0BOB:\n  kubernetes: bob\n');
    const loaded = await loadPolicyFile(policy);
    if (!loaded.ok) throw new Error(loaded.error.map(formatProblem).join('\n'));
    expect(loaded.value.policy.settings.identities).toEqual({ U0CAROL: { github: 'carol-gh' }, U0ALICE: { github: 'alice-gh', aws: 'alice@corp.example' }, U0BOB: { kubernetes: 'bob' } });
    expect(loaded.value.identities).toEqual({ file: join(dir, 'yaml', 'people', 'identities.yaml'), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('reads JSON, tab-indented or not, with the same shape', async () => {
    const policy = policyWith('json', 'identities.json');
    writeFileSync(join(dir, 'json', 'identities.json'), '{\n\t"U0ALICE": {\n\t\t"github": "alice-gh",\n\t\t"gcp": "alice@corp.example"\n\t}\n}\n');
    const loaded = await loadPolicyFile(policy);
    expect(loaded.ok && loaded.value.policy.settings.identities).toEqual({ U0ALICE: { github: 'alice-gh', gcp: 'alice@corp.example' } });
  });

  it('reports every problem in the file at its line, as the policy does', async () => {
    const policy = policyWith('bad', 'identities.yaml');
    const file = join(dir, 'bad', 'identities.yaml');
    writeFileSync(file, 'U0ALICE: { github: alice-gh }\nalice: { github: alice2 }\nU0BOB:\n  aws: "  "\n  "bad table": x\n');
    expect(await problems(policy)).toEqual([
      `${file}:2:1 alice: must be a Slack user ID like U0123ABCD`,
      `${file}:4:8 U0BOB.aws: must not be empty`,
      `${file}:5:3 U0BOB.bad table: identity table names use letters, digits, ".", "_" and "-"`,
    ]);

    writeFileSync(file, 'U0ALICE: { github: alice-gh\n');
    expect(await problems(policy)).toEqual([expect.stringMatching(new RegExp(`^${file}:\\d+:\\d+ YAML syntax: `))]);

    writeFileSync(file, '- U0ALICE\n');
    expect(await problems(policy)).toEqual([`${file}:1:1 an identities file is a map of Slack user IDs to accounts, e.g. U0ALICE: { github: alice-gh, aws: alice@corp.example }`]);
  });

  it('refuses a missing file at the line of settings.identities_file in the policy', async () => {
    const policy = policyWith('missing', 'nowhere.yaml');
    const [problem] = await problems(policy);
    expect(problem).toMatch(new RegExp(`^${policy}:\\d+:\\d+ settings\\.identities_file: ${join(dir, 'missing', 'nowhere.yaml')} does not exist; the path is relative to the policy file$`));
  });

  it('refuses a user in both the inline table and the file, naming the user', async () => {
    const policy = policyWith('both', 'identities.yaml', { U0ALICE: { github: 'alice-gh' }, U0CAROL: { github: 'carol-gh' } });
    const file = join(dir, 'both', 'identities.yaml');
    // Even for another table: which account a grant used must not depend on a merge rule.
    writeFileSync(file, 'U0BOB: { github: bob-gh }\nU0ALICE: { aws: alice@corp.example }\n');
    expect(await problems(policy)).toEqual([`${file}:2:1 U0ALICE is in settings.identities of ${policy} too; keep each user in one of the two places`]);
  });

  it('is checked by `sesame policy check`: problems as FILE:LINE:COL, and the summary names the file', async () => {
    const policy = policyWith('cli', 'identities.yaml');
    const file = join(dir, 'cli', 'identities.yaml');
    writeFileSync(file, 'U0ALICE: { github: alice-gh }\nU0BOB: { github: "" }\n');
    const refused = await sesame(['policy', 'check', policy]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file}:2:18 U0BOB.github: must not be empty\n`);

    writeFileSync(file, 'U0ALICE: { github: alice-gh }\nU0BOB: { github: bob-gh }\n');
    const accepted = await sesame(['policy', 'check', policy]);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain(`, identities from ${file} (2 users mapped) (sha256 `);
  });

  describe('on reload', () => {
    let temp: TempDb;
    let watcher: PolicyWatcher;
    let identities: string;
    const audit = () => temp.db.$client.prepare('SELECT action, details FROM audit_log ORDER BY id').all() as { action: string; details: string }[];

    beforeEach(async () => {
      temp = tempDb();
      const policy = join(temp.dir, 'policy.yaml');
      identities = join(temp.dir, 'identities.yaml');
      writeFileSync(policy, stringify(aPolicyInput({ settings: { identities_file: 'identities.yaml' } })));
      writeFileSync(identities, 'U0ALICE: { github: alice-gh }\n');
      const initial = await loadPolicyFile(policy);
      if (!initial.ok) throw new Error(initial.error.map(formatProblem).join('\n'));
      let created: PolicyWatcher | undefined;
      const store = new SqliteStore(temp.db, () => created?.current().sha256 ?? initial.value.sha256);
      watcher = created = await createPolicyWatcher({ initial: initial.value, store, log: silentLogger, watchFile: false, announce: async () => undefined });
    });
    afterEach(() => {
      watcher.close();
      temp.cleanup();
    });

    it('puts an edit of the identities file alone into force and audits it with the file’s sha256', async () => {
      writeFileSync(identities, 'U0ALICE: { github: alice-renamed }\n');
      expect(await watcher.reload('SIGHUP')).toBe(true);
      expect(watcher.current().policy.settings.identities).toEqual({ U0ALICE: { github: 'alice-renamed' } });
      const loaded = audit().filter((a) => a.action === 'policy.loaded');
      expect(loaded).toHaveLength(2);
      expect(JSON.parse(loaded[1]?.details ?? '{}')).toMatchObject({ identities_file: identities, identities_sha256: watcher.current().identities?.sha256, reason: 'SIGHUP' });
      expect(JSON.parse(loaded[0]?.details ?? '{}').identities_sha256).not.toBe(watcher.current().identities?.sha256);
      expect(await watcher.reload('SIGHUP')).toBe(false); // nothing changed since
    });

    it('keeps the previous table when the edited file is invalid, and says where', async () => {
      writeFileSync(identities, 'U0ALICE: { github: alice-gh }\nnot-a-user: { github: x }\n');
      expect(await watcher.reload('SIGHUP')).toBe(false);
      expect(watcher.current().policy.settings.identities).toEqual({ U0ALICE: { github: 'alice-gh' } });
      const rejected = audit().at(-1);
      expect(rejected?.action).toBe('policy.rejected');
      expect(JSON.parse(rejected?.details ?? '{}').problems).toEqual([`${identities}:2:1 not-a-user: must be a Slack user ID like U0123ABCD`]);
    });
  });
});
