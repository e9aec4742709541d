// Compile-time proof that SQLite's rows are exactly the core's record types (src/core/records.ts), in both directions.
import type {
  ApprovalRecord,
  AuditRecord,
  BlockedUserRecord,
  GrantPatch,
  GrantRecord,
  NewGrant,
  NewRequest,
  RequestPatch,
  RequestRecord,
} from '../core/records.ts';
import type { ApprovalRow, AuditRow, BlockedUserRow, GrantRow, RequestRow } from './schema.ts';
import type { grants, requests } from './schema.ts';

/** True only when each type is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;

/** Fails to compile when a column is added, removed or retyped in schema.ts without the same change in records.ts. */
export type SqliteRowsAreRecords = [
  Holds<Same<RequestRow, RequestRecord>>,
  Holds<Same<GrantRow, GrantRecord>>,
  Holds<Same<ApprovalRow, ApprovalRecord>>,
  Holds<Same<AuditRow, AuditRecord>>,
  Holds<Same<BlockedUserRow, BlockedUserRecord>>,
  Holds<Same<typeof requests.$inferInsert, NewRequest>>,
  Holds<Same<typeof grants.$inferInsert, NewGrant>>,
  Holds<Same<Partial<Omit<typeof requests.$inferInsert, 'id'>>, RequestPatch>>,
  Holds<Same<Partial<Omit<typeof grants.$inferInsert, 'id'>>, GrantPatch>>,
];
