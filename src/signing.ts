// The one signature Sesame puts on what it sends out (webhook calls, audit anchors), so receivers check both the same way.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Sesame-Signature';

/** How far a receiver should accept `t` from its own clock; older signatures are replays. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const hmacHex = (secret: string, signed: string): string => createHmac('sha256', secret).update(signed).digest('hex');

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with `secret`. The timestamp is inside what is
 * signed, so a captured call cannot be replayed later with a fresh `t`.
 */
export function signatureHeader(secret: string, body: string, nowSeconds: number): string {
  const t = Math.floor(nowSeconds);
  return `t=${t},v1=${hmacHex(secret, `${t}.${body}`)}`;
}

/** What a receiver does with the header: true only for a valid signature whose `t` is within the tolerance of `nowSeconds`. */
export function verifySignature(secret: string, body: string, header: string | undefined, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const t = Number(match[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, `${t}.${body}`), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'));
}
