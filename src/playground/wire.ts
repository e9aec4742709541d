// How Slack's Web API clients send arguments (forms with JSON values, or JSON), read back into plain values.
import type { IncomingMessage } from 'node:http';

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The Web API client sends forms whose object values are JSON; decode both shapes into plain values. */
export function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    out[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function safeJsonObject(text: string): Record<string, unknown> {
  const value = safeJson(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export const blocksOf = (args: Record<string, unknown>): unknown[] => (Array.isArray(args.blocks) ? args.blocks : []);
export const viewOf = (args: Record<string, unknown>): Record<string, unknown> => (typeof args.view === 'object' && args.view !== null ? (args.view as Record<string, unknown>) : {});
