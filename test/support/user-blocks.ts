// The revoke-all use case built over an access harness, as main.ts builds it over the real service.
import { UserBlocks } from '../../src/core/user-blocks.ts';
import type { Harness } from './access-harness.ts';
import { silentLogger, singleProvider } from './fakes.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';

export const userBlocksOf = (h: Harness): UserBlocks =>
  new UserBlocks(
    { store: h.store, policy: () => aLoadedPolicy(), providers: singleProvider(h.provider), scheduler: h.scheduler, notifier: h.notifier, directory: h.directory, clock: h.clock, log: silentLogger, retry: { attempts: 3, baseDelayMs: 1 } },
    h.service.grants,
  );
