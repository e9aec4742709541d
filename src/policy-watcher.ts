// Keeps the policy in force: reloads on file change or SIGHUP; an invalid new policy is rejected, audited and announced.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from './core/ports.ts';
import { errorMessage } from './core/retry.ts';
import { formatProblem, loadPolicyFile, type LoadedPolicy } from './policy/load.ts';
import type { StorePort } from './core/store-port.ts';

export interface PolicyWatcher {
  current(): LoadedPolicy;
  /** Loads the file again now; resolves to true when a new policy took effect. */
  reload(reason: string): Promise<boolean>;
  close(): void;
}

export interface PolicyWatcherOptions {
  initial: LoadedPolicy;
  store: StorePort;
  log: Logger;
  /** Tells people about a rejected policy (the audit channel). */
  announce: (text: string) => Promise<void>;
  /** Watch the file for changes. @defaultValue true */
  watchFile?: boolean;
  /** Where the secrets a new policy names must be set; unset ones reject it. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The identities file in force, for the audit entry: an edit of it alone changes who gets which account. */
const identitiesOf = (loaded: LoadedPolicy) => (loaded.identities ? { identities_file: loaded.identities.file, identities_sha256: loaded.identities.sha256 } : {});

export async function createPolicyWatcher(options: PolicyWatcherOptions): Promise<PolicyWatcher> {
  let current = options.initial;
  const { store, log } = options;
  await store.audit(new Date(), { actor: 'sesame', action: 'policy.loaded', details: { file: current.file, sha256: current.sha256, reason: 'start', ...identitiesOf(current) } });

  let reloading: Promise<boolean> | null = null;
  async function reload(reason: string): Promise<boolean> {
    const next = await loadPolicyFile(current.file, { env: options.env });
    if (!next.ok) {
      const problems = next.error.map(formatProblem);
      // The rejection is audited under the policy still in force.
      await store.audit(new Date(), { actor: 'sesame', action: 'policy.rejected', details: { file: current.file, reason, problems } });
      log.error({ file: current.file, problems }, 'new policy rejected; the previous one stays in force');
      await options.announce(`⚠️ The edited policy ${current.file} was rejected, so the previous one stays in force:\n${problems.slice(0, 20).join('\n')}`).catch(() => undefined);
      return false;
    }
    if (next.value.sha256 === current.sha256 && next.value.identities?.sha256 === current.identities?.sha256) return false;
    const previous = current;
    // Switched first so the entry carries the new sha256; back again if it cannot be recorded.
    current = next.value;
    try {
      await store.audit(new Date(), { actor: 'sesame', action: 'policy.loaded', details: { file: current.file, sha256: current.sha256, reason, ...identitiesOf(current) } });
    } catch (error) {
      current = previous;
      return notRecorded(next.value.sha256, reason, error);
    }
    log.info({ file: current.file, sha256: current.sha256, reason }, 'policy reloaded');
    return true;
  }

  /**
   * A policy in force must be in the audit log; when the database cannot record it (locked, disk full), the old
   * policy stays, the failure is logged, and audited too if the database takes that smaller write.
   */
  async function notRecorded(sha256: string, reason: string, error: unknown): Promise<false> {
    const problem = errorMessage(error);
    log.error({ file: current.file, sha256, reason, problem }, 'the edited policy could not be recorded in the database, so the previous one stays in force; fix the database and reload (SIGHUP) again');
    try {
      await store.audit(new Date(), { actor: 'sesame', action: 'policy.rejected', details: { file: current.file, sha256, reason, problems: [`the database could not record it: ${problem}`] } });
    } catch {
      // Already logged; the database refuses writes right now.
    }
    void options.announce(`⚠️ The edited policy ${current.file} could not be recorded in Sesame's database (${problem}), so the previous one stays in force. Fix the database, then reload.`).catch(() => undefined);
    return false;
  }

  const guarded = async (reason: string): Promise<boolean> => {
    try {
      return await reload(reason);
    } catch (error) {
      // Reading the file or auditing a rejection failed: never an unhandled rejection that would end the process.
      log.error({ file: current.file, reason, problem: errorMessage(error) }, 'policy reload failed; the previous policy stays in force');
      return false;
    }
  };
  const serialized = (reason: string): Promise<boolean> => {
    const run = (reloading ?? Promise.resolve(false)).then(() => guarded(reason));
    reloading = run;
    return run;
  };

  const onHup = () => void serialized('SIGHUP');
  process.on('SIGHUP', onHup);
  let watcher: FSWatcher | null = null;
  let debounce: NodeJS.Timeout | null = null;
  if (options.watchFile ?? true) {
    // Watch the folder, not the file: editors often replace the file rather than write to it.
    // The identities file too, when it sits beside the policy (elsewhere, SIGHUP reloads it).
    const watched = () => [current.file, current.identities?.file].filter((f) => f !== undefined && dirname(f) === dirname(current.file)).map((f) => basename(f ?? ''));
    watcher = watch(dirname(current.file), (_event, name) => {
      if (name !== null && !watched().includes(name)) return;
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(() => void serialized('file changed'), 200);
    });
  }

  return {
    current: () => current,
    reload: serialized,
    close: () => {
      process.off('SIGHUP', onHup);
      watcher?.close();
      if (debounce) clearTimeout(debounce);
    },
  };
}
