/**
 * The console's backlog reader (backlog/snapshot.ts createBacklogSectionReader): one client kept
 * across ticks on both tiers — one socket to the embedded backlog server, one Postgres
 * connection — replaced when it breaks, closed on exit, and never creating a store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/version.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { isHolderAlive, readDataDirLock } from '../../backlog/lock.js';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { openBacklog } from '../../backlog/client.js';
import { createBacklogSectionReader, type BacklogSectionReader } from '../../backlog/snapshot.js';
import { copyTemplateDataDir, waitFor } from './tiers.js';
import { createTestDatabase, pgAdminUrl, type TestDatabase } from '../helpers/pg.js';
import { at } from '../helpers/must.js';

const homes: string[] = [];
const readers: BacklogSectionReader[] = [];

function makeHome(withDataDir: boolean): MosaicPaths {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-reader-'));
  homes.push(home);
  const paths = resolvePaths({ mosaicHome: home }, {});
  if (withDataDir) copyTemplateDataDir(paths.backlogDataDir);
  return paths;
}

function reader(): BacklogSectionReader {
  const r = createBacklogSectionReader();
  readers.push(r);
  return r;
}

beforeAll(() => {
  if (!fs.existsSync(path.join(packageRoot(), 'dist', 'src', 'cli.js')))
    throw new Error('dist/ missing: run `npx tsc -p .` (npm test does) before these tests');
});

afterEach(async () => {
  for (const r of readers.splice(0)) await r.close();
});

afterAll(async () => {
  if (storeHome) await stopEmbeddedServer(storeHome, 20_000);
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

/**
 * The home with a data dir shared by the embedded tests that need only "a store a server can
 * serve" (made on first use, its server stopped in afterAll): a copy and a server start are not
 * paid per test. Each test asserts only on what it did (cards it made, its reader's opens).
 */
let storeHome: MosaicPaths | null = null;
function homeWithStore(): MosaicPaths {
  storeHome ??= makeHome(true);
  return storeHome;
}

describe('backlog section reader: embedded tier', () => {
  it('no data dir: says so and creates nothing, however many ticks', async () => {
    const paths = makeHome(false);
    const r = reader();
    for (let i = 0; i < 3; i += 1) {
      expect(await r.read(paths, { timeoutMs: 10_000 })).toMatchObject({ tier: 'embedded', ok: false, exists: false, error: null });
    }
    expect(r.opens).toBe(0);
    expect(fs.existsSync(paths.backlogDataDir)).toBe(false);
    expect(fs.existsSync(paths.backlogSocket)).toBe(false);
  });

  it('keeps one connection across reads; a SIGKILLed server is replaced within the same read', async () => {
    const paths = homeWithStore();
    const client = await openBacklog(paths, { create: false, onProgress: () => {} });
    await client.create({ id: 'K1', title: 'kept' });
    await client.claim({ owner: 'coder0', id: 'K1' });
    await client.close();

    const r = reader();
    for (let i = 0; i < 3; i += 1) {
      const section = await r.read(paths, { timeoutMs: 20_000 });
      expect(section.error).toBeNull();
      expect(section.claimed.map((c) => [c.id, c.owner])).toEqual([['K1', 'coder0']]);
    }
    expect(r.opens).toBe(1);

    const holder = readDataDirLock(paths.backlogDataDir);
    expect(holder).not.toBeNull();
    process.kill(holder!.pid, 'SIGKILL');
    await waitFor(() => !isHolderAlive(holder!), { what: `server pid ${holder!.pid} to die` });
    const after = await r.read(paths, { timeoutMs: 30_000 });
    expect(after.error).toBeNull();
    expect(after.claimed.map((c) => c.id)).toEqual(['K1']);
    expect(r.opens).toBe(2);
    expect(readDataDirLock(paths.backlogDataDir)?.pid).not.toBe(holder!.pid);
  });

  it('an aborted read ends the read, not the reader', async () => {
    const paths = homeWithStore();
    const r = reader();
    expect((await r.read(paths, { timeoutMs: 20_000 })).ok).toBe(true);
    const aborted = await r.read(paths, { timeoutMs: 20_000, signal: AbortSignal.abort() });
    expect(aborted).toMatchObject({ ok: false, exists: true });
    expect(aborted.error).toMatch(/aborted/);
    expect((await r.read(paths, { timeoutMs: 20_000 })).ok).toBe(true);
    await r.close();
    expect((await r.read(paths, { timeoutMs: 20_000 })).error).toMatch(/closed/);
  });
});

describe.skipIf(!pgAdminUrl())('backlog section reader: server tier (PostgreSQL)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(`mt_reader_${process.pid}`);
    const paths = resolvePaths({ mosaicHome: makeHome(false).mosaicHome }, { DATABASE_URL: db.url });
    const client = await openBacklog(paths); // migrates
    await client.create({ id: 'P1', title: 'on postgres' });
    await client.close();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('one connection for the reader’s life (not one per tick); replaced when Postgres drops it; closed on close', async () => {
    const paths = resolvePaths({ mosaicHome: makeHome(false).mosaicHome }, { DATABASE_URL: db.url });
    await waitFor(async () => (await db.backends()).length === 0, { what: 'no connection before the test' });
    const r = reader();
    let first: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const section = await r.read(paths, { timeoutMs: 10_000 });
      expect(section).toMatchObject({ tier: 'server', ok: true });
      expect(section.ready.map((c) => c.id)).toEqual(['P1']);
      const now = await db.backends();
      if (i === 0) first = now;
      expect(now).toHaveLength(1);
      expect(now).toEqual(first);
    }
    expect(r.opens).toBe(1);

    await db.terminate(at(first, 0));
    await waitFor(async () => !(await db.backends()).includes(at(first, 0)), { what: 'terminated backend gone' });
    const after = await r.read(paths, { timeoutMs: 10_000 });
    expect(after.error).toBeNull();
    expect(after.ready.map((c) => c.id)).toEqual(['P1']);
    expect(await db.backends()).toHaveLength(1);

    await r.close();
    await waitFor(async () => (await db.backends()).length === 0, { what: 'the reader’s connection closed' });
  });
});
