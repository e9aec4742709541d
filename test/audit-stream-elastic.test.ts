// Reading Elasticsearch's _bulk answer: only the run of stored items from the first acknowledges entries.
import { describe, expect, it } from 'vitest';
import { bulkAcknowledgement, elasticBulkBody } from '../src/audit-stream-elastic.ts';
import type { ExportedEntry } from '../src/store/audit.ts';

const entry = (id: number): ExportedEntry => ({ id, at: '2026-12-02T08:00:00.000Z', actor: 'U0A', action: 'policy.loaded', request_id: null, grant_id: null, details: {}, policy_sha256: 'f'.repeat(64), prev_hash: String(id - 1).repeat(64).slice(0, 64), hash: String(id).repeat(64).slice(0, 64) });
const [E1, E2, E3] = [entry(1), entry(2), entry(3)];
const ENTRIES = [E1, E2, E3];
const created = (e: ExportedEntry) => ({ create: { _index: 'sesame-audit', _id: e.hash, _version: 1, result: 'created', status: 201 } });
const exists = (e: ExportedEntry) => ({ create: { _index: 'sesame-audit', _id: e.hash, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${e.hash}]: version conflict, document already exists (current version [1])` } } });
const answer = (items: unknown[]) => JSON.stringify({ took: 2, errors: items.some((i) => (i as { create?: { status: number } }).create?.status !== 201), items });
const ack = (text: string) => bulkAcknowledgement('es.example.com:9243', ENTRIES, text);

describe('the elastic_bulk body and answer', () => {
  it('writes an action line naming the index and the hash before each entry, every line newline-terminated', () => {
    expect(elasticBulkBody('sesame-audit', ENTRIES.slice(0, 2))).toBe(
      `{"create":{"_index":"sesame-audit","_id":"${'1'.repeat(64)}"}}\n${JSON.stringify(E1)}\n{"create":{"_index":"sesame-audit","_id":"${'2'.repeat(64)}"}}\n${JSON.stringify(E2)}\n`,
    );
  });

  it('acknowledges every entry created or already there (409 version conflict: the same hash, so the same entry)', () => {
    expect(ack(answer([created(E1), exists(E2), created(E3)]))).toEqual({ stored: 3, problem: null });
  });

  it('stops at the first refused item, even when later ones were created, and names it with the reason', () => {
    const rejected = { create: { _index: 'sesame-audit', _id: E2.hash, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' } } };
    expect(ack(answer([created(E1), rejected, created(E3)]))).toEqual({ stored: 1, problem: 'es.example.com:9243 refused entry 2 with 429: es_rejected_execution_exception (rejected execution of coordinating operation)' });
    const mapping = { create: { _index: 'sesame-audit', _id: E1.hash, status: 400, error: { type: 'document_parsing_exception', reason: 'x'.repeat(1000) } } };
    const refused = ack(answer([mapping]));
    expect(refused.stored).toBe(0);
    expect(refused.problem).toBe(`es.example.com:9243 refused entry 1 with 400: document_parsing_exception (${'x'.repeat(300)})`);
  });

  it('does not count a 409 of another kind, an answer about another document, or missing items as stored', () => {
    const otherConflict = { create: { _index: 'sesame-audit', _id: E1.hash, status: 409, error: { type: 'resource_already_exists_exception', reason: 'x' } } };
    expect(ack(answer([otherConflict])).stored).toBe(0);
    expect(ack(answer([created(E1), created(E1)]))).toEqual({ stored: 1, problem: `es.example.com:9243 answered for document ${'1'.repeat(64)} where entry 2 (${'2'.repeat(64)}) was sent` });
    expect(ack(answer([created(E1), created(E2)]))).toEqual({ stored: 2, problem: 'es.example.com:9243 gave no create result for entry 3 in its _bulk answer' });
    expect(ack(answer([{ index: created(E1).create }]))).toMatchObject({ stored: 0 }); // an `index` result is not the `create` sent
  });

  it('acknowledges nothing from a 2xx that is not a _bulk answer', () => {
    for (const text of ['', '{"text":"Success","code":0}', '<html>ok</html>', '{"errors":false}']) {
      expect(ack(text)).toEqual({ stored: 0, problem: 'es.example.com:9243 did not answer with a _bulk response ({"errors": …, "items": […]}); check that url ends in /_bulk' });
    }
  });
});
