// `sesame doctor` for a webhook block: with `check: true` a signed check of a grant that cannot exist; otherwise it answers HTTP at all.
import { errorText, failed, passed, type Finding } from '../doctor/finding.ts';

const TIMEOUT_MS = 5_000;
/** A grant id no grant has, so the receiver's check answers without touching anything real. */
export const DOCTOR_GRANT_ID = 'sesame-doctor';

export interface WebhookBlock {
  url: string;
  secret_env: string;
  check: boolean;
}

export async function webhookFindings(config: WebhookBlock, env: Readonly<Record<string, string | undefined>>, sign: (secret: string, body: string) => string): Promise<Finding[]> {
  const host = new URL(config.url).host;
  const secret = env[config.secret_env];
  if (!secret) return [failed(`${config.secret_env} is not set, so Sesame cannot sign requests to ${host}`, `set ${config.secret_env} to the secret the receiver checks`)];
  if (!config.check) {
    try {
      // Unsigned and bodiless, so a receiver cannot mistake it for a grant; any HTTP answer shows it is there.
      const response = await fetch(config.url, { method: 'HEAD', signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
      return [passed(`the webhook at ${host} answers (HTTP ${response.status} to HEAD)`)];
    } catch (error) {
      return [failed(`the webhook at ${host} cannot be reached (${reasonOf(error)})`, 'check provider.url and that Sesame can reach it')];
    }
  }
  const query = new URLSearchParams({ grant_id: DOCTOR_GRANT_ID }).toString();
  const url = `${config.url}${config.url.includes('?') ? '&' : '?'}${query}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { 'x-sesame-event': 'check', 'x-sesame-signature': sign(secret, query) }, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    return [failed(`the webhook at ${host} cannot be reached (${reasonOf(error)})`, 'check provider.url and that Sesame can reach it')];
  }
  const body = (await response.json().catch(() => null)) as { present?: unknown } | null;
  if (response.ok && typeof body?.present === 'boolean') return [passed(`the webhook at ${host} answers a signed check`)];
  const what = response.ok ? 'with something other than {"present": true|false}' : `with HTTP ${response.status}`;
  return [failed(`the webhook at ${host} answered a signed check ${what}`, `make the receiver verify the signature with ${config.secret_env} and answer checks (or set check: false)`)];
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS error) is in its cause. */
function reasonOf(error: unknown): string {
  const inner = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  return inner?.code ?? inner?.message ?? errorText(error);
}
