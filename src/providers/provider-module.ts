// What one provider file exports: the zod schema of its policy block, the secrets it reads, and how to build it.
import type { z } from 'zod';
import type { KeyedSerializer, Provider } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import type { Finding } from '../doctor/finding.ts';

/** Slack user group membership, read and written without any cache (the provider must see the truth). */
export interface UsergroupApi {
  members(usergroup: string): Promise<string[]>;
  setMembers(usergroup: string, users: string[]): Promise<void>;
}

export interface ProviderDeps {
  /** Where `secret_env` and `connection_env` are looked up. */
  env: Readonly<Record<string, string | undefined>>;
  usergroups: UsergroupApi;
  /** Serialises changes to one thing (a Slack user group) across replicas; without it, within this process only. */
  serializer?: KeyedSerializer;
}

/** What `sesame doctor` (and start-up) hands a provider's check. */
export interface DoctorDeps {
  env: ProviderDeps['env'];
  /** The workspace's user group IDs (usergroups.list, asked once); rejects with a sentence when Slack cannot say. */
  usergroupIds(): Promise<Set<string>>;
}

export interface SecretReference {
  key: string;
  variable: string;
}

/** The schema's `type` literal is the discriminator the policy uses to pick this provider. */
type ProviderBlockSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;

export interface ProviderModule<Schema extends ProviderBlockSchema> {
  schema: Schema;
  /** The environment variables this block reads, by the key that names each; `sesame start` refuses to run while one is unset. */
  secretEnv?(config: z.output<Schema>): SecretReference[];
  create(config: z.output<Schema>, deps: ProviderDeps): Provider;
  /**
   * Checks, without changing anything, that this block can work: the target answers, Sesame has the rights it needs,
   * what the block names exists. One finding per thing checked; called by `sesame doctor` and at start-up.
   */
  doctor?(config: z.output<Schema>, deps: DoctorDeps): Promise<Finding[]>;
}

export const defineProvider = <Schema extends ProviderBlockSchema>(module: ProviderModule<Schema>): ProviderModule<Schema> => module;

/** The value of a secret variable, or a failure no retry can fix. */
export function requireEnv(env: ProviderDeps['env'], variable: string, forWhat: string): string {
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new ProviderError(`${variable} is not set, so ${forWhat} cannot work; set it in Sesame's environment and restart`, false);
  }
  return value;
}
