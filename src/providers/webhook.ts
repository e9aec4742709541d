// The `webhook` provider: signed JSON POSTs on grant and revoke (SPEC §8), and an optional GET to check.
import { z } from 'zod';
import type { GrantSubject } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { envVarSchema } from '../policy/fields.ts';
import { defineProvider, requireEnv } from './provider-module.ts';
import { send as sendOutbound, type OutboundAnswer } from '../http/outbound.ts';
import { signatureHeader } from '../signing.ts';
import { webhookFindings } from './webhook-doctor.ts';

const WEBHOOK_TIMEOUT_MS = 5_000;
/** A grant's message is DM'd; a longer answer is a mistake on the other side, not something to relay. */
const MAX_MESSAGE_CHARS = 2_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

const schema = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    secret_env: envVarSchema,
    check: z.boolean().default(false),
    /** Allows a plain http:// URL that is not loopback, for a network the operator vouches for. */
    insecure_http: z.boolean().default(false),
  })
  .strict()
  .superRefine((block, ctx) => {
    const url = new URL(block.url);
    if (url.protocol === 'http:' && !isLoopback(url.hostname) && !block.insecure_http) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `uses http://, so grants, revokes and the webhook's answers (which may carry credentials) would cross the network unencrypted; use https://, or set insecure_http: true if this network is trusted`,
      });
    }
  });

/** Loopback never leaves the machine, so plain http there exposes nothing (a local sidecar, a test receiver). */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The body Sesame POSTs; receivers can validate against this shape. */
export const webhookPayloadSchema = z
  .object({
    event: z.enum(['grant', 'revoke']),
    grant_id: z.string(),
    request_id: z.string(),
    user: z.object({ slack_id: z.string(), email: z.string().nullable() }).strict(),
    resource: z.string(),
    role: z.string(),
    reason: z.string(),
    starts_at: z.iso.datetime(),
    expires_at: z.iso.datetime(),
    breakglass: z.boolean(),
  })
  .strict();
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

const grantAnswerSchema = z.looseObject({ message: z.string().optional() });
const checkAnswerSchema = z.looseObject({ present: z.boolean() });

function payloadOf(event: WebhookPayload['event'], s: GrantSubject): WebhookPayload {
  return {
    event,
    grant_id: s.grantId,
    request_id: s.requestId,
    user: { slack_id: s.user.slackId, email: s.user.email },
    resource: s.resource,
    role: s.role,
    reason: s.reason,
    starts_at: s.startsAt.toISOString(),
    expires_at: s.expiresAt.toISOString(),
    breakglass: s.breakglass,
  };
}

/**
 * `X-Sesame-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<signed>">`, where `signed` is the raw body of a
 * POST or the query string of a GET. The time is inside the MAC, so a captured call cannot be replayed later.
 */
export function webhookSignature(secret: string, signed: string, at: Date = new Date()): string {
  return signatureHeader(secret, signed, at.getTime() / 1000);
}

export const webhookProvider = defineProvider({
  schema,
  secretEnv: (config) => [{ key: 'secret_env', variable: config.secret_env }],
  doctor: (config, { env }) => webhookFindings(config, env, (secret, signed) => webhookSignature(secret, signed)),
  create(config, { env }) {
    const host = new URL(config.url).host;
    const secret = () => requireEnv(env, config.secret_env, `the webhook at ${host}`);

    /** Sends one signed request; any answer but 2xx within the timeout is a retryable failure. */
    const send = async (method: 'POST' | 'GET', url: string, event: string, signed: string): Promise<string> => {
      const headers = { 'content-type': 'application/json', 'x-sesame-event': event, 'x-sesame-signature': webhookSignature(secret(), signed) };
      let answer: OutboundAnswer;
      try {
        answer = await sendOutbound(url, { method, headers, ...(method === 'POST' ? { body: signed } : {}), timeoutMs: WEBHOOK_TIMEOUT_MS, maxBytes: MAX_RESPONSE_BYTES });
      } catch (cause) {
        const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
        const why = timedOut ? `did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s` : `could not be reached (${reasonOf(cause)})`;
        throw new ProviderError(`the webhook at ${host} ${why}`, true, { cause });
      }
      if (answer.status < 200 || answer.status >= 300) throw new ProviderError(`the webhook at ${host} answered ${answer.status} to ${event}`, true);
      return answer.text;
    };

    const post = (event: 'grant' | 'revoke', subject: GrantSubject) => send('POST', config.url, event, JSON.stringify(payloadOf(event, subject)));

    return {
      async grant(subject) {
        const text = (await post('grant', subject)).trim();
        if (text === '') return {};
        const answer = grantAnswerSchema.safeParse(parseJson(text));
        if (!answer.success) {
          // The receiver may have granted; calling this a success would hide a broken integration.
          throw new ProviderError(`the webhook at ${host} answered the grant with something other than JSON like {"message": "…"}`, false);
        }
        const message = answer.data.message?.slice(0, MAX_MESSAGE_CHARS);
        return message ? { message } : {};
      },
      async revoke(subject) {
        await post('revoke', subject);
      },
      ...(config.check
        ? {
            async check(subject: GrantSubject) {
              const url = new URL(config.url);
              url.searchParams.append('grant_id', subject.grantId);
              // A GET has no body, so the signature covers the whole query string, exactly as sent.
              const answer = checkAnswerSchema.safeParse(parseJson(await send('GET', url.toString(), 'check', url.search.slice(1))));
              if (!answer.success) throw new ProviderError(`the webhook at ${host} answered the check with something other than {"present": true|false}`, true);
              return answer.data.present ? ('present' as const) : ('absent' as const);
            },
          }
        : {}),
    };
  },
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function reasonOf(cause: unknown): string {
  const error = cause as { code?: string; cause?: { code?: string; message?: string } } | null;
  return error?.code ?? error?.cause?.code ?? error?.cause?.message ?? (cause instanceof Error ? cause.message : String(cause));
}
