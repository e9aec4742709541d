// Redis MONITOR over a plain socket. ioredis's monitor() can throw "Command queue state error" when commands stream in
// right behind MONITOR's OK (it switches to monitoring a tick late), which happens when other test files load Redis.
import { connect, type Socket } from 'node:net';

export interface RedisMonitor {
  /** Every command Redis has run since, in order, as its arguments (the command name first, as the client sent it). */
  readonly seen: string[][];
  close(): void;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };

/** The quoted arguments of one MONITOR line, unescaped as Redis escapes them (sdscatrepr). */
export function monitorArgs(line: string): string[] {
  const afterClient = line.indexOf('] ');
  if (!line.startsWith('+') || afterClient < 0) return [];
  return [...line.slice(afterClient + 2).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(([, quoted]) =>
    (quoted ?? '').replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, escape: string) => (escape.startsWith('x') && escape.length === 3 ? String.fromCharCode(parseInt(escape.slice(1), 16)) : (ESCAPES[escape] ?? escape))),
  );
}

export async function monitorRedis(port = 6379, host = '127.0.0.1'): Promise<RedisMonitor> {
  const seen: string[][] = [];
  let pending = '';
  const socket: Socket = connect(port, host);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  const monitoring = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\r\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '+OK') resolve();
        else if (line.startsWith('+')) seen.push(monitorArgs(line));
      }
    });
  });
  socket.write('MONITOR\r\n');
  await monitoring;
  return { seen, close: () => socket.destroy() };
}
