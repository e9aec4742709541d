// In-memory stand-ins for the core's ports, recording what the core asked of them.
import type { AccessEvent, Clock, Directory, GrantSubject, Logger, Notifier, Provider, Providers, Scheduler, Standing } from '../../src/core/ports.ts';
import { ProviderError } from '../../src/core/provider-error.ts';
import type { UsergroupApi } from '../../src/providers/provider-module.ts';

export class ManualClock implements Clock {
  constructor(private current = new Date('2026-11-23T09:00:00Z')) {}
  now = (): Date => new Date(this.current);
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  set(date: Date): void {
    this.current = new Date(date);
  }
}

/** A provider that remembers who has access, and fails on demand. */
export class FakeProvider implements Provider {
  readonly present = new Set<string>();
  readonly calls: { op: 'grant' | 'revoke' | 'check' | 'extend'; grantId: string; expiresAt: Date }[] = [];
  failGrants = 0;
  failRevokes = 0;
  /** Revoke "succeeds" but the access stays, as a broken provider might do. */
  revokeLeavesAccess = false;
  permanentFailure = false;
  /** While set, revoke cuts the access but reports this as left for a later clean-up. */
  cleanupLeft: string | null = null;
  grantMessage: string | undefined = undefined;
  /** Grant refs (G17) whose revoke never returns, like a provider stuck on a dead connection. */
  readonly hangRevokes = new Set<string>();
  /** Runs during each grant, e.g. to move a test clock as a slow provider or a clock jump would. */
  duringGrant: () => void | Promise<void> = () => {};

  async grant(s: GrantSubject): ReturnType<Provider['grant']> {
    this.calls.push({ op: 'grant', grantId: s.grantId, expiresAt: s.expiresAt });
    await this.duringGrant();
    if (this.failGrants > 0) {
      this.failGrants--;
      throw new ProviderError('fake provider: grant failed', !this.permanentFailure);
    }
    this.present.add(s.grantId);
    return this.grantMessage === undefined ? {} : { message: this.grantMessage };
  }

  /** Awaited during each revoke, e.g. to hold it until a racing one has arrived too. */
  duringRevoke: () => void | Promise<void> = () => {};

  async revoke(s: GrantSubject): ReturnType<Provider['revoke']> {
    this.calls.push({ op: 'revoke', grantId: s.grantId, expiresAt: s.expiresAt });
    await this.duringRevoke();
    if (this.hangRevokes.has(s.grantId)) return new Promise<void>(() => {});
    if (this.failRevokes > 0) {
      this.failRevokes--;
      throw new ProviderError('fake provider: revoke failed', true);
    }
    if (!this.revokeLeavesAccess) this.present.delete(s.grantId);
    return this.cleanupLeft === null ? undefined : { cleanupPending: this.cleanupLeft };
  }

  async check(s: GrantSubject): Promise<'present' | 'absent'> {
    this.calls.push({ op: 'check', grantId: s.grantId, expiresAt: s.expiresAt });
    return this.present.has(s.grantId) ? 'present' : 'absent';
  }

  async extend(s: GrantSubject): Promise<void> {
    this.calls.push({ op: 'extend', grantId: s.grantId, expiresAt: s.expiresAt });
  }

  count(op: 'grant' | 'revoke' | 'check' | 'extend'): number {
    return this.calls.filter((c) => c.op === op).length;
  }
}

export const singleProvider = (provider: Provider): Providers => ({ for: () => provider });

export class FakeScheduler implements Scheduler {
  isAvailable = true;
  readonly revokes = new Map<number, Date>();
  readonly warnings = new Map<number, Date>();
  readonly timeouts = new Map<number, { timeoutAt: Date; remindAt: Date | null }>();
  readonly activations = new Map<number, Date>();

  async available(): Promise<boolean> {
    return this.isAvailable;
  }
  async scheduleRevoke(grantId: number, at: Date, warnAt: Date | null): Promise<void> {
    this.revokes.set(grantId, at);
    if (warnAt) this.warnings.set(grantId, warnAt);
    else this.warnings.delete(grantId);
  }
  async ensureRevokes(schedules: { grantId: number; at: Date; warnAt: Date | null }[]): Promise<number> {
    const missing = schedules.filter((s) => !this.revokes.has(s.grantId));
    for (const s of missing) await this.scheduleRevoke(s.grantId, s.at, s.warnAt);
    return missing.length;
  }
  async cancelRevoke(grantId: number): Promise<void> {
    this.revokes.delete(grantId);
    this.warnings.delete(grantId);
  }
  async scheduleRequestTimeout(requestId: number, timeoutAt: Date, remindAt: Date | null): Promise<void> {
    this.timeouts.set(requestId, { timeoutAt, remindAt });
  }
  readonly escalations = new Map<number, Date>();
  async scheduleEscalation(requestId: number, at: Date): Promise<void> {
    this.escalations.set(requestId, at);
  }
  async cancelRequestJobs(requestId: number): Promise<void> {
    this.timeouts.delete(requestId);
    this.escalations.delete(requestId);
    this.activations.delete(requestId);
  }
  async scheduleActivation(requestId: number, at: Date): Promise<void> {
    this.activations.set(requestId, at);
  }
}

export class RecordingNotifier implements Notifier {
  readonly events: AccessEvent[] = [];
  async notify(event: AccessEvent): Promise<void> {
    this.events.push(event);
  }
  types(): AccessEvent['type'][] {
    return this.events.map((e) => e.type);
  }
}

export class StaticDirectory implements Directory {
  constructor(
    readonly usergroups: Record<string, string[]> = {},
    readonly channels: Record<string, string> = {},
  ) {}
  async usergroupMembers(id: string): Promise<string[] | null> {
    return this.usergroups[id] ?? null;
  }
  async channelName(id: string): Promise<string | null> {
    return this.channels[id] ?? null;
  }
  async userEmail(user: string): Promise<string | null> {
    return `${user.toLowerCase()}@example.com`;
  }
  /** Everyone is a member unless listed in `standings`. */
  readonly standings = new Map<string, Standing>();
  async standing(user: string): Promise<Standing> {
    return this.standings.get(user) ?? 'member';
  }
}

/** For providers that never touch Slack user groups. */
export const noUsergroups: UsergroupApi = { members: async () => [], setMembers: async () => {} };

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
