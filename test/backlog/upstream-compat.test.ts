/**
 * One store, both tools (upstream's and ours), on BOTH tiers (real PGlite data dirs, real PostgreSQL):
 * - a store upstream made (its DDL, its rows: jsonb dependencies, no claim token) is migrated
 *   without touching upstream's column types, and every verb of ours runs on it; rows we write
 *   keep upstream's shapes, and upstream-style inserts and claims still work afterwards;
 * - a store mosaic-top round 1 made (text + CHECK, text[], text acceptance) is converted without
 *   losing a card, a dependency or an event;
 * - a fresh store gets exactly upstream's table; concurrent migrators apply it once;
 * - server tier: a pause on one host refuses a claim from another host's client.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BacklogDb } from '../../backlog/db.js';
import { backlogColumnTypes, migrateBacklog } from '../../backlog/migrate.js';
import { readNorthStarFile } from '../../backlog/north-star.js';
import { fleetBacklogService } from '../../backlog/service.js';
import { BacklogError } from '../../backlog/types.js';
import { packageRoot } from '../../lib/version.js';
import { resolvePaths } from '../../lib/paths.js';
import { createTestDatabase, pgAdminUrl } from '../helpers/pg.js';
import { runCliInProcess } from '../helpers/cli.js';
import { anyNumber } from '../helpers/matchers.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { readJson } from '../helpers/json.js';
import { openBlankDataDir } from './tiers.js';

const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'backlog');
const UPSTREAM_DDL = fs.readFileSync(path.join(FIXTURES, 'upstream-0011.sql'), 'utf8');
const ROUND1_DDL = ['round1-0001.sql', 'round1-0002.sql']
  .map((f) =>
    fs
      .readFileSync(path.join(FIXTURES, f), 'utf8')
      .split(/^--> statement-breakpoint\s*$/m)
      .join(';\n'),
  )
  .join(';\n');

/** Upstream's backlog columns (seed 001): name → [udt, nullable, default]. */
const UPSTREAM_COLUMNS: Record<string, [string, boolean, string | null]> = {
  id: ['text', false, null],
  title: ['text', false, null],
  body: ['text', true, null],
  phase: ['text', true, null],
  priority: ['int4', false, '0'],
  status: ['backlog_status', false, "'ready'::backlog_status"],
  depends_on: ['jsonb', false, "'[]'::jsonb"],
  claim_owner: ['text', true, null],
  claim_ttl_seconds: ['int4', true, null],
  claimed_at: ['timestamptz', true, null],
  attempts: ['int4', false, '0'],
  idempotency_key: ['text', true, null],
  acceptance: ['jsonb', true, null],
  created_at: ['timestamptz', false, 'now()'],
  updated_at: ['timestamptz', false, 'now()'],
};

/** Upstream's indexes on backlog, as pg_indexes prints them. */
const UPSTREAM_INDEXES = [
  'CREATE INDEX backlog_status_claimed_at_idx ON backlog USING btree (status, claimed_at)',
  'CREATE INDEX backlog_status_priority_idx ON backlog USING btree (status, priority)',
  'CREATE UNIQUE INDEX backlog_idempotency_key_idx ON backlog USING btree (idempotency_key)',
  'CREATE UNIQUE INDEX backlog_pkey ON backlog USING btree (id)',
];

/** A blank database on one tier (nothing migrated). */
interface BlankStore {
  db: BacklogDb;
  /** Another connection to the same store (server tier), or the same one (PGlite: one connection). */
  connect(): BacklogDb;
  exec(text: string): Promise<void>;
  rows<T>(text: string): Promise<T[]>;
  runDir: string;
  url: string | null;
  close(): Promise<void>;
}

async function blankEmbedded(): Promise<BlankStore> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-compat-'));
  const { drizzle } = await import('drizzle-orm/pglite');
  // A blank store as initdb makes it: the machine's store template copied (initdb when there is none).
  const pg = await openBlankDataDir(path.join(root, 'backlog'));
  const db = drizzle(pg) as unknown as BacklogDb;
  const runDir = path.join(root, 'run');
  fs.mkdirSync(runDir);
  return {
    db,
    connect: () => db,
    exec: async (text) => {
      await pg.exec(text);
    },
    rows: async <T>(text: string) => (await pg.query<T>(text)).rows,
    runDir,
    url: null,
    close: async () => {
      await pg.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

async function blankServer(): Promise<BlankStore> {
  const database = await createTestDatabase(`mt_compat_${process.pid}_${Math.random().toString(36).slice(2, 8)}`);
  const [{ default: postgres }, { drizzle }] = await Promise.all([import('postgres'), import('drizzle-orm/postgres-js')]);
  const clients: Array<ReturnType<typeof postgres>> = [];
  const open = () => {
    const c = postgres(database.url, { max: 1, onnotice: () => {} });
    clients.push(c);
    return c;
  };
  const main = open();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-compat-run-'));
  return {
    db: drizzle(main) as unknown as BacklogDb,
    connect: () => drizzle(open()) as unknown as BacklogDb,
    exec: async (text) => {
      await main.unsafe(text);
    },
    rows: async <T>(text: string) => (await main.unsafe(text)) as unknown as T[],
    runDir,
    url: database.url,
    close: async () => {
      await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
      await database.drop();
      fs.rmSync(runDir, { recursive: true, force: true });
    },
  };
}

const tiers: Array<[string, () => Promise<BlankStore>]> = [['embedded (PGlite)', blankEmbedded]];
if (pgAdminUrl()) tiers.push(['server (PostgreSQL)', blankServer]);

const open: BlankStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function blank(make: () => Promise<BlankStore>): Promise<BlankStore> {
  const s = await make();
  open.push(s);
  return s;
}

/** Upstream's columns as the store has them now (name → [udt, nullable, default]) and the other columns. */
async function shape(store: BlankStore) {
  const cols = await backlogColumnTypes(store.db);
  const upstream = Object.fromEntries(cols.filter((c) => c.column in UPSTREAM_COLUMNS).map((c) => [c.column, [c.udtName, c.nullable, c.defaultValue]]));
  const extra = cols.filter((c) => !(c.column in UPSTREAM_COLUMNS)).map((c) => ({ column: c.column, nullable: c.nullable }));
  const indexes = (
    await store.rows<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = 'backlog' AND indexname IN
      ('backlog_status_priority_idx', 'backlog_status_claimed_at_idx', 'backlog_idempotency_key_idx', 'backlog_pkey') ORDER BY indexname`)
  )
    .map((r) => r.indexdef.replace(/ public\./g, ' '))
    .sort();
  const labels = (
    await store.rows<{ l: string }>(
      `SELECT enumlabel AS l FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'backlog_status' ORDER BY e.enumsortorder`,
    )
  ).map((r) => r.l);
  return { upstream, extra, indexes, labels };
}

async function expectUpstreamShape(store: BlankStore): Promise<void> {
  const s = await shape(store);
  expect(s.upstream).toEqual(UPSTREAM_COLUMNS);
  expect(s.indexes).toEqual([...UPSTREAM_INDEXES].sort());
  expect(s.labels).toEqual(['ready', 'claimed', 'blocked', 'done']);
  // Everything mosaic-top adds beside upstream's columns is nullable (upstream never writes it).
  expect(
    s.extra.every((c) => c.nullable),
    JSON.stringify(s.extra),
  ).toBe(true);
}

/** Upstream's claim, as its service runs it (the highest-priority dependency-satisfied ready card; no token). */
const UPSTREAM_CLAIM = (owner: string) => `UPDATE backlog SET status = 'claimed', claim_owner = '${owner}', claim_ttl_seconds = 900, claimed_at = now(),
  attempts = attempts + 1, updated_at = now()
  WHERE id = (SELECT b.id FROM backlog b WHERE b.status = 'ready'
    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(b.depends_on) AS dep WHERE dep NOT IN (SELECT d.id FROM backlog d WHERE d.status = 'done'))
    ORDER BY b.priority DESC, b.created_at ASC FOR UPDATE SKIP LOCKED LIMIT 1)
  RETURNING id`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (error) {
    return error instanceof BacklogError ? error.code : `not a BacklogError: ${(error as Error).message}`;
  }
}

describe.each(tiers)('upstream compatibility — %s', (_name, make) => {
  it(
    'a store upstream made: its column types stay; its rows are read and claimed; every verb of ours runs; upstream still inserts and claims',
    { timeout: 120_000 },
    async () => {
      const store = await blank(make);
      await store.exec(UPSTREAM_DDL);
      await store.exec(`INSERT INTO backlog (id, title, priority, depends_on, acceptance) VALUES
        ('U1', 'first', 5, '[]', '["builds", "tests pass"]'),
        ('U2', 'second', 9, '["U1"]', '{"criteria": ["x"]}'),
        ('U3', 'third', 1, '[]', NULL);
      INSERT INTO backlog (id, title, priority, status, claim_owner, claim_ttl_seconds, claimed_at, attempts)
        VALUES ('U4', 'held by upstream', 3, 'claimed', 'up-worker', 60, now() - interval '1 hour', 1);`);
      await expectUpstreamShape(store);
      expect(await migrateBacklog(store.db)).toEqual(['0001', '0003']);
      expect(await migrateBacklog(store.db)).toEqual([]);
      await expectUpstreamShape(store);

      const svc = fleetBacklogService(store.db, store.runDir);
      expect((await svc.list()).map((c) => c.id)).toEqual(['U2', 'U1', 'U4', 'U3']);
      expect(await svc.get('U2')).toMatchObject({ dependsOn: ['U1'], acceptance: { criteria: ['x'] }, claimToken: null });
      expect((await svc.get('U1')).acceptance).toEqual(['builds', 'tests pass']);
      expect(await svc.get('U4')).toMatchObject({ status: 'claimed', claimOwner: 'up-worker', claimToken: null, attempts: 1 });
      expect(await svc.stats()).toEqual({
        counts: { ready: 3, claimed: 1, blocked: 0, done: 0 },
        total: 4,
        oldestReadyAgeSeconds: anyNumber(),
        expiredClaimCount: 1,
        waitingOnDeps: 1,
      });
      // U2 has the higher priority but waits on U1 (upstream's jsonb dependency).
      const first = (await svc.claim({ owner: 'w1' })).card!;
      expect(first).toMatchObject({ id: 'U1', claimOwner: 'w1', claimToken: anyNumber() });
      expect(await svc.reclaim()).toEqual({ reclaimed: ['U4'] }); // upstream's expired claim
      expect((await svc.renew({ id: 'U1', owner: 'w1', token: first.claimToken! })).id).toBe('U1');
      expect((await svc.complete({ id: 'U1', owner: 'w1', token: first.claimToken! })).status).toBe('done');
      expect((await svc.claim({ owner: 'w2' })).card?.id).toBe('U2');
      const made = await svc.create({ id: 'M1', title: 'ours', dependsOn: ['U3'], acceptance: ['criterion a'], idempotencyKey: 'k-M1' });
      expect(made.created).toBe(true);
      expect((await svc.create({ id: 'M1x', title: 'dup', idempotencyKey: 'k-M1' })).created).toBe(false);
      expect((await svc.link({ from: 'U3', to: 'U4' })).dependsOn).toEqual(['U4']);
      expect(await codeOf(svc.link({ from: 'U4', to: 'M1' }))).toBe('cycle');
      expect((await svc.block({ id: 'U3', reason: 'later' })).status).toBe('blocked');
      expect((await svc.unblock({ id: 'U3' })).status).toBe('ready');
      expect((await svc.list({ readyOnly: true })).map((c) => c.id)).toEqual(['U4']);
      expect((await svc.list({ status: 'done' })).map((c) => c.id)).toEqual(['U1']);
      await svc.recordEvent({ actor: 'operator', verb: 'receipt', cardId: 'U2', detail: { ok: true } });
      expect((await svc.events({ limit: 100 })).map((e) => e.verb)).toContain('receipt');
      const goals = await readNorthStarFile(path.join(packageRoot(), 'backlog', 'fixtures', 'NORTH_STAR.yaml'));
      expect((await svc.importGoals({ goals })).created).toHaveLength(14);
      expect((await svc.overview()).stats.total).toBe(19);
      expect((await svc.pauseFleet({ by: 'ops', reason: 'check' })).created).toBe(true);
      expect(await codeOf(svc.claim({ owner: 'w3' }))).toBe('paused');
      expect(await svc.resumeFleet()).toMatchObject({ by: 'ops', reason: 'check' });

      // Upstream's column types are unchanged after all of that.
      await expectUpstreamShape(store);
      // Rows we wrote have upstream's shapes: enum status, jsonb list dependencies and acceptance.
      expect(
        await store.rows(
          `SELECT status::text AS status, jsonb_typeof(depends_on) AS deps, depends_on->>0 AS dep, jsonb_typeof(acceptance) AS acc FROM backlog WHERE id = 'M1'`,
        ),
      ).toEqual([{ status: 'ready', deps: 'array', dep: 'U3', acc: 'array' }]);
      // Upstream inserts in its own shape and claims with its own statement, next to our columns.
      await store.exec(`INSERT INTO backlog (id, title, priority) VALUES ('U9', 'after the migration', 1000)`);
      expect(await store.rows(UPSTREAM_CLAIM('up-2'))).toEqual([{ id: 'U9' }]);
      expect(await svc.get('U9')).toMatchObject({ status: 'claimed', claimOwner: 'up-2', claimToken: null });
      // A card we claimed, released, then upstream claimed: our old token is stale (null), and fenced.
      const ours = (await svc.claim({ owner: 'same', id: 'U4' })).card!;
      await svc.reclaim({ id: 'U4' });
      await store.exec(
        `UPDATE backlog SET status = 'claimed', claim_owner = 'same', claim_ttl_seconds = 900, claimed_at = now(), attempts = attempts + 1 WHERE id = 'U4'`,
      );
      expect((await svc.get('U4')).claimToken).toBeNull();
      expect(await codeOf(svc.complete({ id: 'U4', owner: 'same', token: ours.claimToken! }))).toBe('fenced');
      expect((await svc.complete({ id: 'U4', owner: 'same' })).status).toBe('done');
    },
  );

  it('a round-1 store (text + CHECK, text[], text acceptance) migrates without losing a card, a dependency or an event', { timeout: 120_000 }, async () => {
    const store = await blank(make);
    await store.exec(ROUND1_DDL);
    await store.exec(`CREATE TABLE backlog_migrations (version text PRIMARY KEY NOT NULL, name text NOT NULL, applied_at timestamptz DEFAULT now() NOT NULL);
      INSERT INTO backlog_migrations (version, name) VALUES ('0001', 'cards_and_events'), ('0002', 'deps_pending');
      INSERT INTO backlog (id, title, priority, status, depends_on, acceptance, idempotency_key) VALUES
        ('R1', 'done one', 5, 'done', '{}', NULL, 'key-1'),
        ('R2', 'next', 7, 'ready', '{R1}', 'tests pass', NULL),
        ('R3', 'later', 9, 'ready', '{R2,R1}', E'line one\\nline two; line three', NULL),
        ('R5', 'parked', 1, 'blocked', '{}', '', NULL);
      INSERT INTO backlog (id, title, priority, status, claim_owner, claim_ttl_seconds, claimed_at, claim_token, attempts)
        VALUES ('R4', 'held', 3, 'claimed', 'w-old', 900, now(), nextval('backlog_claim_token_seq'), 1);
      INSERT INTO backlog_events (actor, verb, card_id, detail) SELECT 'cli', 'create', id, jsonb_build_object('title', title) FROM backlog ORDER BY id;
      INSERT INTO backlog_events (actor, verb, card_id, detail) VALUES ('w-old', 'claim', 'R4', '{"token": 1}');`);
    const cardsBefore = await store.rows<{ id: string; deps: string[] }>(`SELECT id, depends_on AS deps FROM backlog ORDER BY id`);
    const eventsBefore = await store.rows(`SELECT id::text, actor, verb, card_id, detail FROM backlog_events ORDER BY id`);
    expect(cardsBefore).toHaveLength(5);

    expect(await migrateBacklog(store.db)).toEqual(['0003']);
    await expectUpstreamShape(store);
    const cardsAfter = await store.rows<{ id: string; deps: unknown }>(`SELECT id, depends_on AS deps FROM backlog ORDER BY id`);
    const asList = (v: unknown): string[] => (typeof v === 'string' ? (JSON.parse(v) as string[]) : (v as string[]));
    expect(cardsAfter.map((c) => [c.id, asList(c.deps)])).toEqual(cardsBefore.map((c) => [c.id, c.deps]));
    expect(await store.rows(`SELECT id::text, actor, verb, card_id, detail FROM backlog_events ORDER BY id`)).toEqual(eventsBefore);

    const svc = fleetBacklogService(store.db, store.runDir);
    expect((await svc.get('R3')).acceptance).toEqual(['line one', 'line two', 'line three']);
    expect((await svc.get('R2')).acceptance).toEqual(['tests pass']);
    expect((await svc.get('R5')).acceptance).toBeNull();
    // The round-1 claim keeps its fencing token.
    const held = await svc.get('R4');
    expect(held.claimToken).toEqual(expect.any(Number));
    expect((await svc.renew({ id: 'R4', owner: 'w-old', token: held.claimToken! })).id).toBe('R4');
    // R3 (priority 9) waits on R2; R2 is claimable (R1 done).
    expect((await svc.claim({ owner: 'w' })).card?.id).toBe('R2');
    expect(await svc.stats()).toMatchObject({ counts: { ready: 1, claimed: 2, blocked: 1, done: 1 }, total: 5, waitingOnDeps: 1 });
    expect((await svc.create({ id: 'R9', title: 'dup key', idempotencyKey: 'key-1' })).card.id).toBe('R1');
  });

  it("a fresh store gets upstream's table exactly; concurrent migrators apply the migrations once", { timeout: 120_000 }, async () => {
    const store = await blank(make);
    const results = await Promise.all(Array.from({ length: 4 }, () => migrateBacklog(store.connect())));
    expect(results.filter((r) => r.length > 0)).toEqual([['0001', '0003']]);
    await expectUpstreamShape(store);
    expect((await store.rows<{ version: string }>(`SELECT version FROM backlog_migrations ORDER BY version`)).map((r) => r.version)).toEqual(['0001', '0003']);
    // Upstream's insert in its own shape works on our fresh store.
    await store.exec(`INSERT INTO backlog (id, title, depends_on, acceptance) VALUES ('X1', 'by upstream', '["X0"]', '["a"]')`);
    const svc = fleetBacklogService(store.db, store.runDir);
    expect(await svc.get('X1')).toMatchObject({ dependsOn: ['X0'], acceptance: ['a'], status: 'ready' });
    expect((await svc.claim({ owner: 'w' })).card).toBeNull(); // X0 does not exist: X1 waits
  });
});

describe.runIf(Boolean(pgAdminUrl()))('fleet-wide PAUSE on the server tier', () => {
  it(
    "a pause on one host refuses a claim from another host's client on the same Postgres store; <run>/PAUSED stays per host",
    { timeout: 180_000 },
    async () => {
      const store = await blank(blankServer);
      await migrateBacklog(store.db);
      const otherRunDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-compat-run-b-'));
      try {
        const hostA = fleetBacklogService(store.connect(), store.runDir);
        const hostB = fleetBacklogService(store.connect(), otherRunDir);
        await hostB.create({ id: 'P1', title: 'work' });
        expect((await hostA.pauseFleet({ by: 'ops@host-a', reason: 'deploy' })).created).toBe(true);
        expect(fs.existsSync(path.join(otherRunDir, 'PAUSED'))).toBe(false);
        const refused = await hostB.claim({ owner: 'w' }).then(
          () => null,
          (e: BacklogError) => e,
        );
        expect(refused?.code).toBe('paused');
        expect(refused?.message).toMatch(/PAUSED since .* by ops@host-a: deploy \(fleet-wide, recorded in the shared backlog store\)/);
        // A second pause keeps the first one's record.
        expect(await hostB.pauseFleet({ by: 'someone-else' })).toMatchObject({ created: false, pause: { by: 'ops@host-a' } });
        expect(await hostB.resumeFleet()).toMatchObject({ by: 'ops@host-a', reason: 'deploy' });
        expect((await hostB.claim({ owner: 'w' })).card?.id).toBe('P1');
        expect((await hostA.events({ limit: 10 })).map((e) => e.verb)).toEqual(expect.arrayContaining(['pause', 'resume']));
      } finally {
        fs.rmSync(otherRunDir, { recursive: true, force: true });
      }
    },
  );

  it(
    'CLI: `mosaic-top pause` on host A (own home and run dir) stops `backlog claim` on host B (dispatch claims through the same call); --once on B says the pause comes from the store',
    { timeout: 180_000 },
    async () => {
      const store = await blank(blankServer);
      const newHome = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mt-compat-home-'));
      const homes = [newHome(), newHome()] as const;
      try {
        const env = { ...process.env, DATABASE_URL: store.url!, PGLITE_DATA_DIR: '' };
        // Each host's verbs run in this process (test/helpers/cli.ts), one at a time; what they share is the store.
        const run = (home: string, args: string[]) => runCliInProcess(['--mosaic-home', home, ...args], env);
        expect((await run(homes[1], ['backlog', 'create', '--id', 'Q1', '--title', 'work'])).code).toBe(0);
        const paused = await run(homes[0], ['pause', '--reason', 'release', '--by', 'ops@host-a', '--json']);
        expect(paused.code, paused.stderr).toBe(0);
        expect(JSON.parse(paused.stdout)).toMatchObject({ paused: true, by: 'ops@host-a', reason: 'release', fleetWide: true });
        expect(fs.existsSync(path.join(resolvePaths({ mosaicHome: homes[0] }, {}).runDir, 'PAUSED'))).toBe(true);
        expect(fs.existsSync(path.join(resolvePaths({ mosaicHome: homes[1] }, {}).runDir, 'PAUSED'))).toBe(false);
        const claim = await run(homes[1], ['backlog', 'claim', '--owner', 'w', '--json']);
        expect([claim.code, claim.stdout]).toEqual([7, '']);
        expect(claim.stderr).toMatch(/by ops@host-a: release \(fleet-wide/);
        const once = await run(homes[1], ['--once', '--json']);
        expect(readJson<Snapshot>(once.stdout).fleet.paused).toMatchObject({ by: 'ops@host-a', reason: 'release', source: 'store' });
        expect((await run(homes[0], ['resume'])).code).toBe(0);
        const after = await run(homes[1], ['backlog', 'claim', '--owner', 'w', '--json']);
        expect(after.code, after.stderr).toBe(0);
        expect(JSON.parse(after.stdout)).toMatchObject({ id: 'Q1', claimOwner: 'w' });
      } finally {
        for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
      }
    },
  );
});
