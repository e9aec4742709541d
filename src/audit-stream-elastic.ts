// The audit stream's Elastic `_bulk` format: a `create` action per entry, keyed by its hash, and the per-item answer read back.
// Request and response shapes as documented at https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html
// (request body: action and source lines, each ending in a newline; "Response body": `errors`, and `items` in request order).
import { z } from 'zod';
import type { ExportedEntry } from './store/audit.ts';

/**
 * `create` (not `index`) with `_id` = the entry's hash: a resend after a lost answer finds the document there and gets
 * 409, so the index holds each entry exactly once; `create` is also the only action a data stream takes.
 */
export function elasticBulkBody(index: string, entries: readonly ExportedEntry[]): string {
  // The Bulk API refuses a body whose last line does not end in a newline.
  return entries.map((e) => `${JSON.stringify({ create: { _index: index, _id: e.hash } })}\n${JSON.stringify(e)}\n`).join('');
}

/** Enough of Elasticsearch's reason for a log line and /readyz; some reasons quote the whole document. */
const MAX_REASON_CHARS = 300;

const bulkItemSchema = z.object({
  create: z.object({
    _id: z.string(),
    status: z.number().int(),
    error: z.object({ type: z.string(), reason: z.string().nullish() }).loose().optional(),
  }).loose(),
});

/** What Elasticsearch answers a `_bulk` request with (even when items failed it is a 200; `errors` says so). */
const bulkResponseSchema = z.object({ errors: z.boolean(), items: z.array(z.unknown()) }).loose();

export interface BulkAcknowledgement {
  /** How many entries, from the first, Elasticsearch holds now: the cursor may move past these and no further. */
  stored: number;
  /** Why the first entry it does not hold was refused, in words; null when it holds them all. */
  problem: string | null;
}

/** An item Elasticsearch holds: just created, or already there from an earlier send (same `_id`, so the same entry). */
const isHeld = (item: z.output<typeof bulkItemSchema>): boolean =>
  item.create.status === 201 || (item.create.status === 409 && item.create.error?.type === 'version_conflict_engine_exception');

/**
 * Reads a 2xx answer to `elasticBulkBody(…, entries)`. Items come back in request order; only the run of held items
 * from the first counts, so a refused item in the middle (a 429 `es_rejected_execution_exception`, a mapping error)
 * holds the cursor just before it and it is sent again, with those after it (which then answer 409).
 */
export function bulkAcknowledgement(host: string, entries: readonly ExportedEntry[], text: string): BulkAcknowledgement {
  const response = bulkResponseSchema.safeParse(parseJson(text));
  if (!response.success) return { stored: 0, problem: `${host} did not answer with a _bulk response ({"errors": …, "items": […]}); check that url ends in /_bulk` };
  for (const [position, entry] of entries.entries()) {
    const item = bulkItemSchema.safeParse(response.data.items[position]);
    if (!item.success) return { stored: position, problem: `${host} gave no create result for entry ${entry.id} in its _bulk answer` };
    // An answer about another document (a proxy mixing up requests) must not acknowledge this one.
    if (item.data.create._id !== entry.hash) return { stored: position, problem: `${host} answered for document ${item.data.create._id} where entry ${entry.id} (${entry.hash}) was sent` };
    if (!isHeld(item.data)) {
      const { status, error } = item.data.create;
      const why = error === undefined ? '' : `: ${error.type}${error.reason ? ` (${error.reason.slice(0, MAX_REASON_CHARS)})` : ''}`;
      return { stored: position, problem: `${host} refused entry ${entry.id} with ${status}${why}` };
    }
  }
  return { stored: entries.length, problem: null };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
