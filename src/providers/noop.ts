// The `noop` provider: Sesame records the grant and its end, and changes nothing outside (trials, demos, benchmarks).
import { z } from 'zod';
import { defineProvider } from './provider-module.ts';

export const noopProvider = defineProvider({
  schema: z.object({ type: z.literal('noop') }).strict(),
  create: () => ({
    grant: async () => ({}),
    revoke: async () => {},
  }),
});
