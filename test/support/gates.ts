// Holds a test double's call until the test lets it go, to catch Sesame's work at that moment (a slow provider, a slow Slack).
import type { AccessEvent, GrantSubject } from '../../src/core/ports.ts';
import type { Harness } from './access-harness.ts';

export interface Gate {
  /** Resolves once a held call has arrived. */
  reached: Promise<void>;
  /** Lets every held call go on. */
  release(): void;
  /** Called inside the double: says it arrived, then waits for `release`. */
  pass(): Promise<void>;
}

export function gate(): Gate {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  let arrive: () => void = () => {};
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return {
    reached,
    release: () => open(),
    async pass() {
      arrive();
      await opened;
    },
  };
}

/** The harness's provider holds every grant call at the gate. */
export function holdProviderGrants(h: Harness): Gate {
  const held = gate();
  const grant = h.provider.grant.bind(h.provider);
  h.provider.grant = async (subject: GrantSubject) => {
    await held.pass();
    return grant(subject);
  };
  return held;
}

/** The harness's notifier holds every `request_approved` notice: a click is caught between its commit and its grant. */
export function holdApprovedNotices(h: Harness): Gate {
  const held = gate();
  const notify = h.notifier.notify.bind(h.notifier);
  h.notifier.notify = async (event: AccessEvent) => {
    if (event.type === 'request_approved') await held.pass();
    return notify(event);
  };
  return held;
}
