// The bodies the audit stream POSTs: one JSON entry per line (jsonl), Splunk HEC event objects (splunk_hec), or
// Elastic `_bulk` action/entry pairs (elastic_bulk).
import { hostname } from 'node:os';
import { elasticBulkBody } from './audit-stream-elastic.ts';
import type { AuditStreamFormat } from './policy/audit-stream-settings.ts';
import type { ExportedEntry } from './store/audit.ts';

export interface StreamBody {
  contentType: string;
  body: string;
}

/** Splunk's HEC envelope: `time` in epoch seconds (milliseconds as the fraction), the entry itself as `event`. */
export interface HecEvent {
  time: number;
  host: string;
  source: 'sesame';
  sourcetype: 'sesame:audit';
  event: ExportedEntry;
}

export const hecEvent = (entry: ExportedEntry, host: string): HecEvent => ({ time: Date.parse(entry.at) / 1000, host, source: 'sesame', sourcetype: 'sesame:audit', event: entry });

/**
 * Every entry exactly as `sesame audit export --format jsonl` writes it (with `prev_hash` and `hash`), so the copy a
 * SIEM keeps can be checked against the chain. HEC takes several event objects in one body, one after the other.
 */
export function streamBody(format: AuditStreamFormat, entries: readonly ExportedEntry[], { host = hostname(), index = '' }: { host?: string; index?: string } = {}): StreamBody {
  if (format === 'elastic_bulk') return { contentType: 'application/x-ndjson', body: elasticBulkBody(index, entries) };
  if (format === 'splunk_hec') return { contentType: 'application/json', body: `${entries.map((e) => JSON.stringify(hecEvent(e, host))).join('\n')}\n` };
  return { contentType: 'application/x-ndjson', body: `${entries.map((e) => JSON.stringify(e)).join('\n')}\n` };
}
