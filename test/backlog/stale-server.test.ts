/**
 * A backlog server that outlived an upgrade or rebuild runs old code: clients say so and name
 * the fix. The decision is pure (staleServerWarning); the wire is tested with a stand-in server
 * on the real socket path, reached by the real program (`backlog stats`, `--once --json`).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleServerWarning, type CodeIdentity } from '../../backlog/client/identity.js';
import { BACKLOG_PROTOCOL, LineSplitter, type BacklogHello, type BacklogRequest } from '../../backlog/protocol.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { packageVersion } from '../../lib/version.js';
import { runBin } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { snapshotValidator } from '../helpers/schema.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { readJson } from '../helpers/json.js';
import { stringContaining } from '../helpers/matchers.js';
import { must } from '../helpers/must.js';

const ours: CodeIdentity = { version: '0.2.0', root: '/opt/mosaic-top', codeChangedAtMs: Date.UTC(2026, 10, 21, 12, 30) };
const hello = (over: Partial<BacklogHello>): BacklogHello => ({
  hello: BACKLOG_PROTOCOL,
  pid: 4242,
  version: '0.2.0',
  root: '/opt/mosaic-top',
  startedAtMs: Date.UTC(2026, 10, 21, 13),
  ...over,
});

describe('staleServerWarning', () => {
  it('current server (same version, started after the code last changed): no warning', () => {
    expect(staleServerWarning(hello({}), ours)).toBeNull();
  });

  it('another version, or none reported: names the pid, both versions and the fix', () => {
    const versions = staleServerWarning(hello({ version: '0.1.0' }), ours);
    expect(versions).toBe('backlog server is 0.1.0, not 0.2.0 (pid 4242): run `mosaic-top backlog stop`');
    // It fits the console's narrowest header line (80 columns, after "! ").
    expect(versions!.length).toBeLessThanOrEqual(78);
    expect(staleServerWarning({ hello: BACKLOG_PROTOCOL, pid: 7 }, ours)).toBe('backlog server is older than 0.2.0 (pid 7): run `mosaic-top backlog stop`');
  });

  it('same version, same install, code rebuilt after the server started: stale, with both times', () => {
    const early = hello({ startedAtMs: Date.UTC(2026, 10, 21, 12) });
    expect(staleServerWarning(early, ours)).toBe(
      'backlog server predates this build (pid 4242): run `mosaic-top backlog stop` (started 2026-11-21T12:00:00Z, code changed 2026-11-21T12:30:00Z)',
    );
    // Another install of the same version: its files' times say nothing about this server.
    expect(staleServerWarning({ ...early, root: '/home/ops/mosaic-top' }, ours)).toBeNull();
    // Running from sources (no compiled module to stat): only the version counts.
    expect(staleServerWarning(early, { ...ours, codeChangedAtMs: null })).toBeNull();
  });
});

describe('a stale backlog server, through the real program', () => {
  let server: net.Server | null = null;
  let home: string | null = null;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
    if (home) fs.rmSync(home, { recursive: true, force: true });
    home = null;
  });

  /**
   * Listens on the home's backlog socket as a server of mosaic-top 0.0.1 would: its hello, then
   * canned answers to `stats` and `overview`. The data dir exists, so clients use the socket.
   */
  async function oldServer(): Promise<MosaicPaths> {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-stale-'));
    const paths = resolvePaths({ mosaicHome: home }, {});
    fs.mkdirSync(paths.backlogDataDir, { recursive: true });
    fs.writeFileSync(path.join(paths.backlogDataDir, 'PG_VERSION'), '17\n');
    fs.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
    const stats = { counts: { ready: 1, claimed: 0, blocked: 0, done: 2 }, total: 3, oldestReadyAgeSeconds: 60, expiredClaims: 0, waitingOnDeps: 0 };
    // An older server names its data dir in `ping` only (not in its hello).
    const ping = { pid: process.pid, dataDir: paths.backlogDataDir, startedAt: new Date().toISOString(), requests: 0 };
    const results: Record<string, unknown> = { stats, overview: { stats, claimed: [], ready: [] }, ping };
    server = net.createServer((conn) => {
      const greeting: BacklogHello = { hello: BACKLOG_PROTOCOL, pid: process.pid, version: '0.0.1', root: '/old/install', startedAtMs: Date.now() };
      conn.write(`${JSON.stringify(greeting)}\n`);
      const splitter = new LineSplitter();
      conn.on('data', (chunk) => {
        for (const line of splitter.push(String(chunk))) {
          const request = JSON.parse(line) as BacklogRequest;
          conn.write(`${JSON.stringify({ id: request.id, ok: true, result: results[request.method] ?? null })}\n`);
        }
      });
    });
    await new Promise<void>((resolve) => server!.listen(paths.backlogSocket, resolve));
    return paths;
  }

  const env = { ...process.env, DATABASE_URL: '', PGLITE_DATA_DIR: '', MT_SYSTEMCTL_MODE: 'nobus' };
  const warning = `backlog server is 0.0.1, not ${packageVersion()} (pid ${process.pid}): run \`mosaic-top backlog stop\``;

  it('backlog commands still answer, and warn on stderr (stdout stays clean JSON)', async () => {
    const paths = await oldServer();
    const r = await runBin(['--mosaic-home', paths.mosaicHome, 'backlog', 'stats', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ counts: { ready: 1, done: 2 } });
    expect(r.stderr).toContain(`mosaic-top backlog: warning: ${warning}`);
  });

  it('--once --json carries it in backlog.warning and errors (schema-valid); the table prints it', async () => {
    const paths = await oldServer();
    writeHomeRoster(paths.mosaicHome, `mt-stale-${process.pid}`, []);
    const r = await runBin(['--mosaic-home', paths.mosaicHome, '--once', '--json'], env);
    expect(r.code).toBe(0);
    const snapshot = readJson<Snapshot>(r.stdout);
    const validate = snapshotValidator();
    expect(validate(snapshot), JSON.stringify(validate.errors)).toBe(true);
    expect(snapshot.backlog).toMatchObject({ ok: true, warning: stringContaining(warning) });
    expect(must(snapshot.probes.backlog, 'backlog probe').ok).toBe(true);
    expect(snapshot.errors).toContain(snapshot.backlog?.warning);
    const table = await runBin(['--mosaic-home', paths.mosaicHome, '--once'], env);
    expect(table.stdout).toContain(warning);
  });
});
