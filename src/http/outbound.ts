// Outbound HTTP on the hot path (Slack's Web API, response_url replies, webhooks) through undici's request API, which skips fetch's web streams and abort plumbing.
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type * as Undici from 'undici';

let undici: Promise<typeof Undici> | null = null;
let undiciModule: typeof Undici | null = null;

/** undici takes ~70 ms to import, so it loads on first use: commands that never call out (policy check) skip it. */
export function loadOutbound(): Promise<typeof Undici> {
  undici ??= import('undici').then((module) => {
    undiciModule = module;
    return module;
  });
  return undici;
}

/** Whether `send` can start at once; until then, a caller on the start-up path may prefer fetch (already in Node). */
export const outboundLoaded = (): boolean => undiciModule !== null;

export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** The whole call, answer included, must finish within this. */
  timeoutMs: number;
  /** A caller's own way to give up earlier (the Web API client sends one). */
  signal?: AbortSignal;
  /** Read at most this much of the answer and drop the rest, so a receiver cannot fill our memory. */
  maxBytes?: number;
}

export interface OutboundAnswer {
  url: string;
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** The deadline passed; named like fetch's, so callers tell a silent peer from an unreachable one. */
export class OutboundTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** One request; resolves with any status (3xx are not followed), rejects when the peer cannot be reached or the deadline passes. */
export async function send(url: string, options: OutboundRequest): Promise<OutboundAnswer> {
  if (options.signal?.aborted) throw options.signal.reason;
  // undici also takes an EventEmitter as the signal: far cheaper per call than an AbortController, and it says why.
  const abort = new EventEmitter();
  let stoppedBy: unknown = null;
  const stop = (reason: unknown) => {
    if (stoppedBy !== null) return;
    stoppedBy = reason;
    abort.emit('abort');
  };
  const timer = setTimeout(() => stop(new OutboundTimeoutError(`${new URL(url).host} did not answer before the ${options.timeoutMs / 1000} s timeout`)), options.timeoutMs);
  const onCallerAbort = () => stop(options.signal?.reason);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    const { request } = undiciModule ?? (await loadOutbound());
    // Stopped while undici was still loading: an EventEmitter has no `aborted` flag for undici to see afterwards.
    if (stoppedBy !== null) throw stoppedBy;
    const answer = await request(url, { method: options.method, headers: options.headers, body: options.body, signal: abort });
    // undici reads a whole answer from the stream's buffer and 'data' events, without an async iterator's promise per chunk.
    const text = options.maxBytes === undefined ? await answer.body.text() : await readCapped(answer.body, options.maxBytes);
    return { url, status: answer.statusCode, statusText: STATUS_CODES[answer.statusCode] ?? '', headers: answer.headers, text };
  } catch (error) {
    // undici rejects with its own RequestAbortedError; the reason we stopped for says why.
    throw stoppedBy instanceof Error ? stoppedBy : error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      chunks.push(chunk.subarray(0, chunk.byteLength - (size - maxBytes)));
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
}
