// The well-formed parts of a policy that failed validation, so references in them are checked beside the shape problems.
import type { z } from 'zod';
import type { PolicyParts } from './cross-check.ts';
import { breakglassSchema, bundleSchema, groupSchema, resourceSchema, settingsSchema, teamSchema, tierSchema } from './schema.ts';

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function validEntries<S extends z.ZodType>(value: unknown, schema: S): Record<string, z.output<S>> {
  if (!isMap(value)) return {};
  const valid: Record<string, z.output<S>> = {};
  for (const [name, body] of Object.entries(value)) {
    const parsed = schema.safeParse(body);
    if (parsed.success) valid[name] = parsed.data;
  }
  return valid;
}

function validOrUndefined<S extends z.ZodType>(value: unknown, schema: S): z.output<S> | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export function wellFormedParts(raw: Record<string, unknown>): PolicyParts {
  // A section that is not a map at all is reported as such; checking names against it would only add noise.
  const names = (value: unknown): Set<string> | undefined => (isMap(value) ? new Set(Object.keys(value)) : undefined);
  return {
    settings: validOrUndefined(raw.settings, settingsSchema),
    groups: validEntries(raw.groups, groupSchema),
    teams: validEntries(raw.teams, teamSchema),
    tiers: validEntries(raw.tiers, tierSchema),
    breakglass: raw.breakglass === undefined ? undefined : validOrUndefined(raw.breakglass, breakglassSchema),
    resources: validEntries(raw.resources, resourceSchema),
    bundles: validEntries(raw.bundles, bundleSchema),
    names: { groups: raw.groups === undefined ? new Set() : names(raw.groups), tiers: names(raw.tiers), resources: names(raw.resources) },
  };
}
