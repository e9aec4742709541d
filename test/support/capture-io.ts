// A CliIo that keeps what a command writes, for running CLI commands in-process against real files.
import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.ts';

export interface CapturedIo {
  io: CliIo;
  stdout(): string;
  stderr(): string;
}

export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    return { stream, text: () => chunks.join('') };
  };
  const out = sink();
  const err = sink();
  return { io: { stdout: out.stream, stderr: err.stream, env }, stdout: out.text, stderr: err.text };
}
