// A Redis server of the test's own, on a free loopback port, that the test may stop and start again.
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './sesame-process.ts';

export class OwnRedis {
  private process: ChildProcess | null = null;
  port = 0;

  /** `extraArgs` are more redis-server options, after (so overriding) the defaults: e.g. persistence on. */
  constructor(
    private readonly maxmemoryPolicy = 'noeviction',
    private readonly extraArgs: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', this.maxmemoryPolicy, ...this.extraArgs], { stdio: 'ignore' });
    const client = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        await client.connect();
        await client.ping();
        break;
      } catch {
        if (Date.now() > until) throw new Error(`redis-server did not start on port ${this.port}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    client.disconnect();
    return this;
  }

  /** SIGSTOP: the server keeps its connections open and answers nothing, like a hung host. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL'); // ends a frozen (SIGSTOPped) server too
    });
    this.process = null;
  }
}

