// Writes policies/policy.schema.json from the zod schema, so editors can autocomplete and check policy YAML.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { policyJsonSchema } from '../src/policy/json-schema.ts';

const target = fileURLToPath(new URL('../policies/policy.schema.json', import.meta.url));
writeFileSync(target, policyJsonSchema());
console.log(`wrote ${target}`);
