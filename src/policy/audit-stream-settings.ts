// `settings.audit_stream`: where every audit entry is pushed, in order, signed, as a SIEM accepts it.
import { z } from 'zod';
import { durationSchema, envVarSchema } from './fields.ts';

export const AUDIT_STREAM_FORMATS = ['jsonl', 'splunk_hec', 'elastic_bulk'] as const;
export type AuditStreamFormat = (typeof AUDIT_STREAM_FORMATS)[number];

/** Audit entries are the record of who got access: never sent in clear, except to this machine. */
export function isSafeSiemUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

export const auditStreamSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an https URL' }).refine(isSafeSiemUrl, 'must be https (http only to localhost): audit entries sent in clear can be read and altered on the way'),
    /** The key every POST is signed with (the webhook provider's X-Sesame-Signature). */
    secret_env: envVarSchema,
    /** Sent whole as the Authorization header (e.g. `Splunk <HEC token>`), for receivers that want their own credential. */
    authorization_env: envVarSchema.optional(),
    format: z.enum(AUDIT_STREAM_FORMATS, { error: 'must be jsonl, splunk_hec or elastic_bulk' }).default('jsonl'),
    /** With elastic_bulk: the index (or data stream) every entry is created in, named in each action line. */
    index: z
      .string()
      .max(255, 'must be at most 255 characters')
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be an Elasticsearch index name: lowercase letters, digits, ".", "_" and "-", starting with a letter or digit')
      .optional(),
    batch: z.number().int().min(1, 'batch must be at least 1').max(1000, 'batch must be at most 1000').default(100),
    /** How long one POST may take before it counts as failed (and is sent again). */
    timeout: durationSchema.prefault('10s'),
    /** Past this many entries not yet acknowledged, /readyz carries a warning. */
    warn_lag: z.number().int().min(1, 'warn_lag must be at least 1').default(1000),
  })
  .strict()
  .refine((s) => s.format !== 'elastic_bulk' || s.index !== undefined, {
    message: 'is required with format: elastic_bulk: name the index (or data stream) the entries are created in, e.g. index: sesame-audit',
    path: ['index'],
  })
  .refine((s) => s.format === 'elastic_bulk' || s.index === undefined, {
    message: 'applies only to format: elastic_bulk; remove it or set format: elastic_bulk',
    path: ['index'],
  });

export type AuditStreamSettings = z.output<typeof auditStreamSchema>;
