/**
 * Test harness of `mosaic-top serve`: the real program (`node bin/mosaic-top … serve`, built by
 * `npx tsc -p .`) on an ephemeral 127.0.0.1 port, its token read from the file it created, and
 * REAL headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core; never a
 * browser download) in a throwaway profile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { BIN } from './bin.js';
import { waitFor } from './tmux.js';

/** The environment the tests run the program in: the fixture `systemctl` (no user bus) first on PATH, no backlog server of another test. */
export function serveEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.resolve(path.dirname(BIN), '..', 'test', 'fixtures', 'bin')}:${process.env.PATH}`,
    MT_SYSTEMCTL_MODE: 'nobus',
    ...extra,
  };
  delete env.DATABASE_URL;
  delete env.PGLITE_DATA_DIR;
  return env;
}

/** A running `mosaic-top serve`. */
export interface ServeProcess {
  proc: ChildProcess;
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  token: string;
  stderr: () => string;
  /** GET/POST with the Bearer token unless `auth: false`. */
  request: (pathname: string, init?: RequestInit & { auth?: boolean }) => Promise<Response>;
  /** SIGTERM, then waits for the exit; resolves the exit code. */
  stop: () => Promise<number | null>;
}

/**
 * Starts `mosaic-top --mosaic-home <home> --interval <s> serve --listen 127.0.0.1:0 ...args`.
 * Resolves once it says where it listens; rejects with its stderr when it exits first.
 */
export async function startServe(
  home: string,
  args: string[] = [],
  opts: { env?: NodeJS.ProcessEnv; intervalSeconds?: number; tokenFile?: string } = {},
): Promise<ServeProcess> {
  const proc = spawn(
    process.execPath,
    [BIN, '--mosaic-home', home, '--interval', String(opts.intervalSeconds ?? 1), 'serve', '--listen', '127.0.0.1:0', ...args],
    {
      env: serveEnv(opts.env),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let exited: number | null | undefined;
  proc.on('exit', (code) => (exited = code));
  const port = await waitFor(
    () => {
      if (exited !== undefined) throw new Error(`serve exited ${exited}: ${err}`);
      return /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(err)?.[1];
    },
    'serve listening',
    { timeoutMs: 30_000 },
  ).catch((error: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${error.message}; stderr: ${err}; exited ${String(exited)}`);
  });
  const url = `http://127.0.0.1:${port}`;
  const token = fs.readFileSync(opts.tokenFile ?? path.join(home, 'fleet', 'serve-token'), 'utf8').trim();
  return {
    proc,
    url,
    token,
    stderr: () => err,
    request: (pathname, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.auth !== false) headers.set('Authorization', `Bearer ${token}`);
      return fetch(`${url}${pathname}`, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(60_000) });
    },
    stop: async () => {
      if (exited !== undefined) return exited;
      const done = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.kill('SIGTERM');
      return done;
    },
  };
}

/** Args Debian's chromium needs as root in a container (no sandbox, no GPU, nothing phoning home). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium context in a fresh profile; `close` ends it and removes the profile. */
export async function launchChromium(viewport = { width: 1100, height: 900 }): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where tests keep artifacts (screenshots, scrapes): `<repo>/test-artifacts/` (gitignored). */
export function artifactDir(): string {
  const dir = path.resolve(path.dirname(BIN), '..', 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
