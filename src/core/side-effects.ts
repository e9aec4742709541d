// Side effects after a committed transition (jobs, notifications): a failure is logged, never undoes the state change.
import type { Logger } from './ports.ts';
import { errorMessage } from './retry.ts';

export async function safely(log: Logger, what: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    log.warn({ problem: errorMessage(error) }, `${what} failed`);
  }
}
