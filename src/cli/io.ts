// Where CLI commands read their environment and write their output; tests pass their own.
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

export const line = (stream: Writable, text = ''): void => {
  stream.write(`${text}\n`);
};

/** Writes respecting back-pressure, so exporting a large log does not buffer it all in memory. */
export async function writeChunk(stream: Writable, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
