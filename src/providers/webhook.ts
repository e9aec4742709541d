// The `webhook` provider: signed JSON POSTs on grant and revoke (SPEC §8), and an optional GET to check.
import { createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import type { GrantSubject } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { envVarSchema } from '../policy/fields.ts';
import { defineProvider, requireEnv } from './provider-module.ts';

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
  })
  .strict();

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

const signatureOf = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export const webhookProvider = defineProvider({
  schema,
  secretEnv: (config) => [{ key: 'secret_env', variable: config.secret_env }],
  create(config, { env }) {
    const host = new URL(config.url).host;
    const secret = () => requireEnv(env, config.secret_env, `the webhook at ${host}`);

    /** Sends one signed request; any answer but 2xx within the timeout is a retryable failure. */
    const send = async (method: 'POST' | 'GET', url: string, event: string, body: string): Promise<string> => {
      const headers = { 'content-type': 'application/json', 'x-sesame-event': event, 'x-sesame-signature': signatureOf(secret(), body) };
      let answer: { status: number; text: string };
      try {
        answer = await exchange(method, new URL(url), headers, method === 'POST' ? body : null);
      } catch (cause) {
        const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
        const why = timedOut ? `did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s` : `could not be reached (${reasonOf(cause)})`;
        throw new ProviderError(`the webhook at ${host} ${why}`, true, { cause });
      }
      if (answer.status < 200 || answer.status > 299) throw new ProviderError(`the webhook at ${host} answered ${answer.status} to ${event}`, true);
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
              const query = new URLSearchParams({ grant_id: subject.grantId }).toString();
              const url = `${config.url}${config.url.includes('?') ? '&' : '?'}${query}`;
              // A GET has no body, so the signature covers the query string.
              const answer = checkAnswerSchema.safeParse(parseJson(await send('GET', url, 'check', query)));
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

/**
 * One request over node:http(s) on the default keep-alive agent: fetch cost several times the CPU per call, a
 * large share of a revocation's. Redirects are not followed (a 3xx is not 2xx, so it fails), the whole exchange
 * must finish within the timeout, and at most MAX_RESPONSE_BYTES of the answer are read.
 */
function exchange(method: 'POST' | 'GET', url: URL, headers: Record<string, string>, body: string | null): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers: body === null ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
    let timedOut: Error | null = null;
    const timer = setTimeout(() => {
      timedOut = new Error(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`);
      timedOut.name = 'TimeoutError';
      request.destroy(timedOut);
    }, WEBHOOK_TIMEOUT_MS);
    // Destroying the request mid-answer also fails the answer (as "aborted"); the timeout is the reason then.
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(timedOut ?? error);
    };
    request.on('error', fail);
    request.on('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      };
      response.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size <= MAX_RESPONSE_BYTES) return void chunks.push(chunk);
        response.removeAllListeners('data');
        response.destroy();
        done();
      });
      response.on('end', done);
      response.on('error', fail);
    });
    request.end(body ?? undefined);
  });
}

function reasonOf(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
}
