// The `noop` provider: Sesame records the grant and its end, and changes nothing outside (trials, demos, benchmarks).
import type { Provider } from '../core/ports.ts';

export function createNoopProvider(): Provider {
  const present = new Set<string>();
  return {
    grant: async (subject) => {
      present.add(subject.grantId);
      return {};
    },
    revoke: async (subject) => {
      present.delete(subject.grantId);
    },
  };
}
