// `settings.audit_stream`: where every audit entry is pushed, in order, signed, as a SIEM accepts it.
import { z } from 'zod';
import { durationSchema, envVarSchema } from './fields.ts';

export const AUDIT_STREAM_FORMATS = ['jsonl', 'splunk_hec'] as const;
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
    format: z.enum(AUDIT_STREAM_FORMATS, { error: 'must be jsonl or splunk_hec' }).default('jsonl'),
    batch: z.number().int().min(1, 'batch must be at least 1').max(1000, 'batch must be at most 1000').default(100),
    /** How long one POST may take before it counts as failed (and is sent again). */
    timeout: durationSchema.prefault('10s'),
    /** Past this many entries not yet acknowledged, /readyz carries a warning. */
    warn_lag: z.number().int().min(1, 'warn_lag must be at least 1').default(1000),
  })
  .strict();

export type AuditStreamSettings = z.output<typeof auditStreamSchema>;
