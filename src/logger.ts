// Sesame's JSON logger (pino): one line per event, secrets redacted; `sesame start` and the composition root share it.
import type { Writable } from 'node:stream';
import { pino, type Level, type Logger } from 'pino';

export function createLogger(level: Level | 'silent', destination: Writable = process.stdout): Logger {
  const options = { level, base: { app: 'sesame' }, redact: ['token', 'password', 'secret', '*.token', '*.password', '*.secret'] };
  // Standard output goes through pino's synchronous writer, so the last lines before an exit are not lost.
  return destination === process.stdout ? pino(options) : pino(options, destination);
}

/** Resolves once every line written so far has reached its destination (pino writes asynchronously), before an exit. */
export const flushed = (log: Logger): Promise<void> => new Promise((resolve) => log.flush(() => resolve()));
