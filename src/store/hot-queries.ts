// The queries on every request, grant and revoke, built into drizzle prepared queries once per database.
import { and, asc, eq, getTableColumns, gte, inArray, is, ne, SQL, sql, type Column } from 'drizzle-orm';
import type { SQLiteInsertValue, SQLiteUpdateSetSource } from 'drizzle-orm/sqlite-core';
import type { GrantState, RequestState } from '../core/errors.ts';
import type { Db } from './db.ts';
import { oncePer } from './once-per.ts';
import { approvals, auditLog, blockedUsers, grants, requests } from './schema.ts';

// drizzle builds a query object and its SQL text on every call (a sixth of Sesame's CPU per lifecycle); these are
// built once and only bound to new values. The values are encoded here exactly as drizzle encodes them when it
// builds (`bound`), so what is stored does not depend on which path wrote it.

type Values = Record<string, unknown>;

/** A column's value as drizzle binds it when building: null stays NULL (the JSON and boolean encoders would store "null" or 0). */
const bound = (column: Column, value: unknown): unknown => (value === null ? null : column.mapToDriverValue(value));

/** A placeholder drizzle binds as given, without a column's encoder: its value goes through `bound` first. */
const slot = (name: string): SQL => sql`${sql.placeholder(name)}`;

/** The two tables whose whole rows the hot path reads and writes. */
type WholeRowTable = typeof requests | typeof grants;

const byName = (table: WholeRowTable): [string, Column][] => Object.entries(getTableColumns(table));

/**
 * A whole row from SQLite's values, decoded column by column as drizzle decodes it (NULL stays null). drizzle's own
 * mapping walks each field's path and checks its kind on every row (about 7 % of Sesame's allocations per lifecycle).
 */
function rowDecoder<T extends WholeRowTable>(table: T): (values: unknown[]) => T['$inferSelect'] {
  const columns = byName(table);
  return (values) => {
    const row: Values = {};
    for (let i = 0; i < columns.length; i++) {
      const [key, column] = columns[i] as [string, Column];
      const value = values[i];
      row[key] = value === null ? null : column.mapFromDriverValue(value);
    }
    return row as T['$inferSelect'];
  };
}

/** A prepared query whose rows are a whole table's columns in the table's order (`select()` or `returning()`). */
interface ValuesQuery {
  values(params: Values): unknown[][];
}

function wholeRows<T extends WholeRowTable>(table: T, query: ValuesQuery) {
  const decode = rowDecoder(table);
  return {
    get: (params: Values): T['$inferSelect'] | undefined => {
      const [first] = query.values(params);
      return first === undefined ? undefined : decode(first);
    },
    all: (params: Values): T['$inferSelect'][] => query.values(params).map(decode),
  };
}

/** `INSERT … RETURNING` of a whole row; a value left out gets the column's default, as in drizzle's own insert. */
function preparedInsert<T extends WholeRowTable>(db: Db, table: T) {
  const columns = byName(table);
  for (const [key, column] of columns) {
    if (is(column.default, SQL) || column.defaultFn !== undefined) throw new Error(`bug: ${key} has a default a prepared insert cannot give`);
  }
  const values = Object.fromEntries(columns.map(([key]) => [key, slot(key)])) as SQLiteInsertValue<WholeRowTable>;
  // Built on the union, not on T: drizzle's RETURNING type only resolves to rows for a concrete table type.
  const inserting: WholeRowTable = table;
  const query = wholeRows(table, db.insert(inserting).values(values).returning().prepare());
  return (row: Omit<T['$inferInsert'], 'id'>): T['$inferSelect'] => {
    const given: Values = row;
    const params: Values = {};
    for (const [key, column] of columns) params[key] = bound(column, given[key] === undefined ? (column.default ?? null) : given[key]);
    const inserted = query.get(params);
    if (inserted === undefined) throw new Error('bug: an INSERT … RETURNING returned no row');
    return inserted;
  };
}

/** Past this many patch shapes a conditional update is built per call again, so a caller varying its keys cannot grow this without end. */
const MAX_SHAPES = 64;

/**
 * `UPDATE table SET … WHERE id = ? AND state IN (…) [AND current_step = ?]`, one prepared query per shape (the
 * patch's keys, how many states, whether a step is checked); the shapes are the few transitions the core makes.
 * Returns the number of rows changed: 0 when the row was not in one of the states (a lost race).
 */
function conditionalUpdates(db: Db, table: WholeRowTable) {
  const columns = new Map(byName(table));
  const shapes = new Map<string, ReturnType<typeof build>>();
  function build(keys: string[], states: number, step: boolean) {
    const set = Object.fromEntries(keys.map((key) => [key, slot(`v_${key}`)])) as SQLiteUpdateSetSource<typeof table>;
    const conditions = [eq(table.id, sql.placeholder('id')), inArray(table.state, Array.from({ length: states }, (_, i) => sql.placeholder(`s${i}`)))];
    if (step) conditions.push(eq(requests.currentStep, sql.placeholder('step')));
    return db.update(table).set(set).where(and(...conditions)).prepare();
  }
  return (id: number, states: readonly string[], patch: Values, step?: number): number => {
    const keys = Object.keys(patch).filter((key) => patch[key] !== undefined);
    const shape = `${keys.join()}|${states.length}|${step !== undefined}`;
    let query = shapes.get(shape);
    if (query === undefined) {
      query = build(keys, states.length, step !== undefined);
      if (shapes.size < MAX_SHAPES) shapes.set(shape, query);
    }
    const params: Values = { id };
    states.forEach((state, i) => (params[`s${i}`] = state));
    if (step !== undefined) params.step = step;
    for (const key of keys) {
      const column = columns.get(key);
      if (column === undefined) throw new Error(`bug: ${key} is not a column of the table being updated`);
      params[`v_${key}`] = bound(column, patch[key]);
    }
    return query.run(params).changes;
  };
}

const id = sql.placeholder('id');

function build(db: Db) {
  const holdersOf = (states: GrantState[]) =>
    wholeRows(grants, db.select().from(grants).where(and(eq(grants.accessKey, sql.placeholder('key')), inArray(grants.state, states), ne(grants.id, sql.placeholder('except')))).orderBy(asc(grants.id)).prepare());
  return {
    request: wholeRows(requests, db.select().from(requests).where(eq(requests.id, id)).prepare()),
    grant: wholeRows(grants, db.select().from(grants).where(eq(grants.id, id)).prepare()),
    grantsOfRequest: wholeRows(grants, db.select().from(grants).where(eq(grants.requestId, id)).orderBy(asc(grants.id)).prepare()),
    approvals: db.select().from(approvals).where(eq(approvals.requestId, id)).orderBy(asc(approvals.id)).prepare(),
    block: db.select().from(blockedUsers).where(eq(blockedUsers.user, sql.placeholder('user'))).prepare(),
    /** A `user.blocked` entry for this person at or after `since` (an ISO time), whether or not they were unblocked since. */
    blockEntrySince: db
      .select({ id: auditLog.id })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'user.blocked'), gte(auditLog.at, sql.placeholder('since')), sql`json_extract(${auditLog.details}, '$.user') = ${sql.placeholder('user')}`))
      .limit(1)
      .prepare(),
    /** With `pending`, and without: see `Store.holdersOf`. */
    holders: { pending: holdersOf(['pending', 'active', 'revoke_failed']), live: holdersOf(['active', 'revoke_failed']) },
    insertRequest: preparedInsert(db, requests),
    insertGrant: preparedInsert(db, grants),
    insertApproval: db
      .insert(approvals)
      .values({ requestId: sql.placeholder('requestId'), step: sql.placeholder('step'), approver: sql.placeholder('approver'), at: sql.placeholder('at') })
      .onConflictDoNothing()
      .prepare(),
    updateRequest: conditionalUpdates(db, requests) as (id: number, states: readonly RequestState[], patch: Values, step?: number) => number,
    updateGrant: conditionalUpdates(db, grants) as (id: number, states: readonly GrantState[], patch: Values) => number,
    setRequestCard: db.update(requests).set({ cardChannel: slot('channel'), cardTs: slot('ts') }).where(eq(requests.id, id)).prepare(),
    setGrantDm: db.update(grants).set({ dmChannel: slot('channel'), dmTs: slot('ts') }).where(eq(grants.id, id)).prepare(),
  };
}

export type HotQueries = ReturnType<typeof build>;

/** The prepared queries of this database, built on first use; every Store and helper on one database shares them. */
export const hotQueries: (db: Db) => HotQueries = oncePer(build);
