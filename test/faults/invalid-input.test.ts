/**
 * Faults: input the store cannot take, and a store the program cannot read yet. Acceptance
 * criteria nested 5 000 deep are invalid input (exit 2, one line), not a stack overflow; a
 * read-only verb on a Postgres store that lacks a migration says "this store needs migrating:
 * run `mosaic-top backlog migrate`" (exit 8) instead of a raw SQL error, and `backlog migrate`
 * then brings it up to date. Needs a build; the Postgres case the test run's cluster.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateBacklog, readMigrations } from '../../backlog/migrate.js';
import { createTestDatabase, pgAdminUrl, type TestDatabase } from '../helpers/pg.js';
import { freshHome, runBounded } from './harness.js';

describe('faults: invalid input and a store that needs migrating', () => {
  const homes: string[] = [];
  let db: TestDatabase | null = null;
  afterAll(async () => {
    await db?.drop();
    for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
  });
  const home = () => {
    const h = freshHome('mt-fault-input-');
    homes.push(h.home);
    return h;
  };

  it('acceptance JSON nested 5 000 deep: invalid input, exit 2, one line naming the field', async () => {
    const { home: h, env } = home();
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const r = await runBounded(['--mosaic-home', h, 'backlog', 'create', '--id', 'D1', '--title', 'deep', '--acceptance', deep], env);
    expect(r.killed).toBe(false);
    expect(r.stderr).not.toContain('Maximum call stack');
    expect(r.stderr).toMatch(/^mosaic-top backlog: acceptance nests deeper than 32 levels/m);
    expect(r.code, r.stderr).toBe(2);
  });

  it('read-only verbs on a Postgres store that lacks a migration: "this store needs migrating: run …", exit 8; migrate fixes it', async () => {
    if (!pgAdminUrl()) {
      if (process.env.CI === 'true') throw new Error('CI=true: the Postgres tier must run');
      return; // no cluster outside CI (global-setup says why)
    }
    db = await createTestDatabase(`fault_migrate_${process.pid}`);
    // A store as the first schema made it: only the first migration applied.
    const [{ default: postgres }, { drizzle }] = await Promise.all([import('postgres'), import('drizzle-orm/postgres-js')]);
    const sqlClient = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      await migrateBacklog(drizzle(sqlClient), readMigrations().slice(0, 1));
      await sqlClient`INSERT INTO backlog (id, title) VALUES ('M1', 'old card')`;
    } finally {
      await sqlClient.end({ timeout: 5 });
    }
    const { home: h, env } = home();
    env.DATABASE_URL = db.url;
    for (const verb of [['list'], ['show', '--id', 'M1'], ['stats']]) {
      const r = await runBounded(['--mosaic-home', h, 'backlog', ...verb], env);
      expect(r.killed).toBe(false);
      expect(r.stderr, verb.join(' ')).toMatch(/^mosaic-top backlog: this store needs migrating: run `mosaic-top backlog migrate`/);
      expect(r.stderr).not.toMatch(/operator does not exist|Failed query/);
      expect(r.code, r.stderr).toBe(8);
    }
    expect((await runBounded(['--mosaic-home', h, 'backlog', 'migrate'], env)).code).toBe(0);
    const list = await runBounded(['--mosaic-home', h, 'backlog', 'list'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('M1');
  });
});
