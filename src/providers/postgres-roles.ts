// What a PostgreSQL role may be trusted with; `sesame doctor` and the postgres provider share these checks.
import type pg from 'pg';

export type Queryable = Pick<pg.ClientBase, 'query'>;

/** Predefined roles that reach the server's files, programs or every table: as strong as the attributes below. */
const POWERFUL_PREDEFINED = ['pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_read_all_data', 'pg_write_all_data'];

interface HeldRole {
  rolname: string;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolbypassrls: boolean;
  self: boolean;
}

/**
 * Why `role` must not become the owner of what a grantee created, or null when it may. An owner's powers are
 * what a grantee's SECURITY DEFINER function runs with, so a superuser, CREATEROLE or BYPASSRLS role (or a
 * member, however indirect, of one, or of a predefined role that reaches files, programs or all data) is refused.
 */
export async function unsafeReassignTarget(client: Queryable, role: string): Promise<string | null> {
  const { rows } = await client.query<HeldRole>(
    `WITH RECURSIVE held(oid) AS (
       SELECT oid FROM pg_roles WHERE rolname = $1
       UNION
       SELECT m.roleid FROM pg_auth_members m JOIN held h ON m.member = h.oid
     )
     SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolbypassrls, r.rolname = $1 AS self
     FROM held h JOIN pg_roles r ON r.oid = h.oid
     ORDER BY r.rolname = $1 DESC, r.rolname`,
    [role],
  );
  if (rows.length === 0) return `the role ${role} does not exist`;
  for (const held of rows) {
    const attributes = [held.rolsuper && 'SUPERUSER', held.rolcreaterole && 'CREATEROLE', held.rolbypassrls && 'BYPASSRLS'].filter((a): a is string => typeof a === 'string');
    const why = attributes.length > 0 ? `has ${attributes.join(', ')}` : POWERFUL_PREDEFINED.includes(held.rolname) ? 'reaches server files, programs or all data' : null;
    if (why === null) continue;
    return held.self ? `the role ${role} ${why}` : `the role ${role} is a member of ${held.rolname}, which ${why}`;
  }
  return null;
}
