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

export function createLogger(level: Level | 'silent', destination: DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino({ level, base: { app: 'sesame' }, redact: ['token', 'password', 'secret', '*.token', '*.password', '*.secret'] }, scrubbing(destination));
}
