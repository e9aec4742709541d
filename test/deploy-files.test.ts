// The container files: multi-stage, non-root, health-checked; Redis with noeviction and persistence; data on a volume.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { sesameNodeFlags } from '../bench/node-flags.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dockerfile = readFileSync(`${ROOT}/Dockerfile`, 'utf8');

describe('Dockerfile', () => {
  const instructions = dockerfile.split('\n').filter((l) => /^[A-Z]+\s/.test(l));

  it('builds in one stage and runs the compiled dist/ in another, as a non-root user', () => {
    expect(instructions.filter((l) => l.startsWith('FROM ')).length).toBe(2);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/node_modules/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist/);
    // The runtime stage holds no TypeScript: no sources, and dev dependencies (tsx, esbuild, typescript) pruned.
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).not.toMatch(/COPY (src|tsconfig)/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(instructions.filter((l) => l.startsWith('USER ')).at(-1)).toBe('USER node');
  });

  it('builds and runs on a maintained Node LTS (22), while the code keeps working on Node 20', () => {
    expect(instructions.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1])).toEqual(['node:22-bookworm-slim', 'node:22-bookworm-slim']);
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe('>=20');
  });

  it('checks /healthz and starts Sesame', () => {
    expect(dockerfile).toMatch(/HEALTHCHECK [^\n]*\\\n\s+CMD [^\n]*\/healthz/);
    expect(instructions.at(-1)).toBe(`CMD ${JSON.stringify(['node', ...sesameNodeFlags(ROOT), 'bin/sesame.js', 'start'])}`.replaceAll('","', '", "'));
  });

  it('copies only paths that exist, and keeps the database on a volume', () => {
    const copied = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(copied.filter((p) => !existsSync(`${ROOT}/${p}`))).toEqual([]);
    expect(dockerfile).toContain('DATABASE_PATH=/data/sesame.db');
    expect(dockerfile).toContain('VOLUME ["/data"]');
  });
});

describe('compose.yaml', () => {
  const compose = parse(readFileSync(`${ROOT}/compose.yaml`, 'utf8')) as {
    services: Record<string, { profiles?: string[]; image?: string; command?: string[]; volumes?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown> | string[]; ports?: string[]; extends?: { service: string } }>;
    volumes: Record<string, unknown>;
  };

  it('listens on PORT (3000 unless set) inside and outside the container', () => {
    const sesame = compose.services.sesame as { environment?: Record<string, string>; ports?: string[] };
    expect(sesame.environment?.PORT).toBe('${PORT:-3000}');
    expect(sesame.ports).toEqual(['${PORT:-3000}:${PORT:-3000}']);
  });

  it('runs Redis with noeviction and append-only persistence on a volume', () => {
    const redis = compose.services.redis;
    expect(redis?.command?.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(redis?.command?.join(' ')).toContain('--appendonly yes');
    expect(redis?.volumes).toContain('redis-data:/data');
  });

  it('points Sesame at that Redis and keeps its SQLite file on a named volume', () => {
    const sesame = compose.services.sesame;
    expect(sesame?.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(sesame?.volumes?.some((v) => v.startsWith('sesame-data:/data'))).toBe(true);
    expect(Object.keys(compose.volumes)).toEqual(['sesame-data', 'redis-data', 'postgres-data']);
    expect(sesame?.depends_on).toHaveProperty('redis');
  });

  it('runs one Sesame on SQLite with the .env.example profile, and PostgreSQL with two replicas behind one proxy with `replicas`', () => {
    const env = readFileSync(`${ROOT}/.env.example`, 'utf8');
    expect(env).toMatch(/^COMPOSE_PROFILES=sqlite$/m);
    const running = (profile: string) => Object.keys(compose.services).filter((name) => (compose.services[name]?.profiles ?? [profile]).includes(profile));
    expect(running('sqlite')).toEqual(['sesame', 'redis']);
    expect(running('replicas')).toEqual(['postgres', 'sesame-1', 'sesame-2', 'proxy', 'redis']);
    // Only one of the two profiles publishes PORT: the SQLite Sesame, or the proxy in front of the replicas.
    expect(compose.services.proxy?.ports).toEqual(compose.services.sesame?.ports);
    expect(compose.services['sesame-1']?.ports).toBeUndefined();
  });

  it('points both replicas at the one PostgreSQL and the one Redis, and the proxy at both replicas', () => {
    const replica = compose.services['sesame-1'];
    expect(replica?.environment?.DATABASE_URL).toBe('postgres://sesame:${POSTGRES_PASSWORD}@postgres:5432/sesame');
    expect(replica?.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(replica?.depends_on).toHaveProperty('postgres');
    expect(compose.services['sesame-2']?.extends).toEqual({ service: 'sesame-1' });
    expect(compose.services.postgres?.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    const caddyfile = readFileSync(`${ROOT}/deploy/replicas/Caddyfile`, 'utf8');
    expect(caddyfile).toMatch(/reverse_proxy sesame-1:3000 sesame-2:3000/);
    expect(caddyfile).toMatch(/health_uri \/healthz/);
    expect(compose.services.proxy?.volumes).toContain('./deploy/replicas/Caddyfile:/etc/caddy/Caddyfile:ro');
  });
});

describe('how Sesame is launched', () => {
  const flags = sesameNodeFlags(ROOT);
  const scripts = (JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;

  it('gives Node the same flags from npm start, the playground and the container (8 MiB semi-spaces and one V8 helper thread, for memory; collection on the main thread, for CPU)', () => {
    expect(flags).toEqual(expect.arrayContaining(['--max-semi-space-size=8', '--single-threaded-gc', '--v8-pool-size=1']));
    for (const name of ['playground', 'sesame']) expect(scripts[name]?.startsWith(['node', ...flags, 'bin/sesame.js'].join(' '))).toBe(true);
  });

  it('keeps a plain `node` shebang, so `npx sesame` runs where env has no -S (BusyBox, some BSDs)', () => {
    expect(readFileSync(`${ROOT}/bin/sesame.js`, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
    const out = execFileSync(`${ROOT}/bin/sesame.js`, ['--version'], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^sesame \d+\.\d+\.\d+$/);
  });
});
