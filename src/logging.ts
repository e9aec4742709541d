// Sesame's JSON log on standard output. A busy Sesame logs a few lines per request; written one by one they cost a
// write(2) each (a noticeable share of the CPU per request), so lines are gathered into blocks of a few KiB and
// written at least every half second. On exit, what is gathered is written synchronously (pino registers that).
import { pino, type Logger } from 'pino';

/** Bytes gathered before a write. */
const BLOCK_BYTES = 8 * 1024;
/** The longest a line waits in a quiet moment. A flush while a write is under way does nothing; the next one counts. */
const FLUSH_EVERY_MS = 500;

export const REDACTED_FIELDS = ['token', 'password', 'secret', '*.token', '*.password', '*.secret'];

export function createLogger(level: string, fd = 1): Logger {
  const destination = pino.destination({ dest: fd, sync: false, minLength: BLOCK_BYTES });
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  return pino({ level, base: { app: 'sesame' }, redact: REDACTED_FIELDS }, destination);
}
