// Sesame's pino logger: JSON lines whose every field has credentials inside URLs removed before it is written.
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { redactCredentials } from './core/redact.ts';

/**
 * Scrubbing the finished line, not chosen fields, also covers messages, nested objects, error stacks and what
 * Bolt, BullMQ and ioredis say, whichever of them happens to quote a connection string.
 */
function scrubbing(destination: DestinationStream): DestinationStream {
  return { write: (line: string) => destination.write(redactCredentials(line)) };
}

/**
 * Standard output is written synchronously (through its file descriptor, not the stream), so the last lines before
 * an exit, a fatal cause above all, are never lost in a pipe.
 */
export function createLogger(level: Level | 'silent', destination: DestinationStream = process.stdout): Logger {
  const target = destination === process.stdout ? pino.destination({ dest: 1, sync: true }) : destination;
  return pino({ level, base: { app: 'sesame' }, redact: ['token', 'password', 'secret', '*.token', '*.password', '*.secret'] }, scrubbing(target));
}

/** Resolves once every line written so far has reached its destination, before an exit. */
export const flushed = (log: Logger): Promise<void> => new Promise((resolve) => log.flush(() => resolve()));
