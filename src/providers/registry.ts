// The provider registry: every provider file is listed once here; the policy's provider block and the lookup by type follow.
import { z } from 'zod';
import type { Provider, Providers } from '../core/ports.ts';
import { awsIdentityCenterProvider } from './aws-identity-center.ts';
import { gcpIamProvider } from './gcp-iam.ts';
import { githubTeamProvider } from './github-team.ts';
import { kubernetesProvider } from './kubernetes.ts';
import { noopProvider } from './noop.ts';
import { postgresProvider } from './postgres.ts';
import type { Finding } from '../doctor/finding.ts';
import type { DoctorDeps, ProviderDeps, SecretReference } from './provider-module.ts';
import { slackUsergroupProvider } from './slack-usergroup.ts';
import { webhookProvider } from './webhook.ts';

/** Adding a provider: write its file (see provider-module.ts) and list it here. */
const PROVIDER_MODULES = [webhookProvider, slackUsergroupProvider, postgresProvider, githubTeamProvider, kubernetesProvider, awsIdentityCenterProvider, gcpIamProvider, noopProvider] as const;

// A generic mapped type keeps the tuple a tuple, which discriminatedUnion needs.
type SchemasOf<Modules> = { -readonly [K in keyof Modules]: Modules[K] extends { schema: infer S } ? S : never };
type BlockSchemas = SchemasOf<typeof PROVIDER_MODULES>;
type AnyModule = {
  schema: z.ZodType;
  secretEnv?(config: never): SecretReference[];
  create(config: never, deps: ProviderDeps): Provider;
  doctor?(config: never, deps: DoctorDeps): Promise<Finding[]>;
};

const PROVIDER_TYPES = PROVIDER_MODULES.map((m) => m.schema.shape.type.value);

export const providerConfigSchema = z.discriminatedUnion('type', PROVIDER_MODULES.map((m) => m.schema) as unknown as BlockSchemas, {
  error: `must be one of: ${PROVIDER_TYPES.join(', ')}`,
});

export type ProviderConfig = z.output<typeof providerConfigSchema>;

function moduleFor(config: ProviderConfig): AnyModule {
  const found = PROVIDER_MODULES.find((m) => m.schema.shape.type.value === config.type);
  if (!found) throw new Error(`no provider module for type ${config.type}`);
  return found as AnyModule;
}

/** The environment variables a provider block reads (secrets, connection strings). */
export function secretEnvOf(config: ProviderConfig): SecretReference[] {
  const module = moduleFor(config);
  return module.secretEnv?.(config as never) ?? [];
}

/** The provider's own checks of this block (see ProviderModule.doctor); none when the provider has nothing to check. */
export async function doctorOf(config: ProviderConfig, deps: DoctorDeps): Promise<Finding[]> {
  return (await moduleFor(config).doctor?.(config as never, deps)) ?? [];
}

/** One provider per distinct provider block, so blocks that share a database share its pool. */
export function createProviders(deps: ProviderDeps): Providers {
  const shared = new Map<string, Provider>();
  return {
    for(config) {
      const key = JSON.stringify(config);
      let provider = shared.get(key);
      if (!provider) {
        provider = moduleFor(config).create(config as never, deps);
        shared.set(key, provider);
      }
      return provider;
    },
    async close() {
      await Promise.allSettled([...shared.values()].map((p) => p.close?.()));
      shared.clear();
    },
  };
}
