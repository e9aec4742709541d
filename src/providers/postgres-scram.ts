// A SCRAM-SHA-256 verifier (RFC 5802/7677) in PostgreSQL's pg_authid format, computed here so that CREATE ROLE
// never carries the plaintext password: a server logging DDL (log_statement=ddl) would otherwise keep it.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's own default (scram_iterations); a login costs this many HMACs on both sides. */
const SCRAM_ITERATIONS = 4096;

/**
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64. PostgreSQL stores such a string as given
 * and checks logins against it. Passwords must be ASCII: SASLprep leaves those unchanged, so no normalisation is needed.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  if (!/^[\x20-\x7e]*$/.test(password)) throw new Error('bug: SCRAM verifiers are only computed for printable ASCII passwords');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
