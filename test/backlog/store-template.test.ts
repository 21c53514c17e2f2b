/**
 * The store template (backlog/store-template.ts) through backlog/pglite-open.ts
 * createDataDirApart: real initdb children (dist/backlog/initdb-child.js, needs a build) and
 * real copies, counted by where each store came from. Every store made is opened by PGlite and
 * migrated, so a bad copy cannot pass.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataDirApart, serverPgliteOptions, type CreatedStore } from '../../backlog/pglite-open.js';
import { copyTemplate, MANIFEST_NAME, storeTemplateRoot, templateSlot, TemplateUnusable, type TemplateSlot } from '../../backlog/store-template.js';
import { migrateBacklog } from '../../backlog/migrate.js';
import { packageRoot } from '../../lib/version.js';

const roots: string[] = [];
let startParams: readonly string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

/** Every file under `dir` (relative path → SHA-256), the manifest left out. */
function digest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const full = path.join(dir, rel);
    if (rel !== MANIFEST_NAME && fs.statSync(full).isFile()) out.set(rel, crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
  }
  return out;
}

/** Creates a store in a fresh data dir from `templateRoot`; its dir, what made it, and the lines logged. */
async function create(templateRoot: string | null): Promise<{ dataDir: string; made: CreatedStore; lines: string[] }> {
  const dataDir = path.join(tempDir('mt-tpl-store-'), 'backlog');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const lines: string[] = [];
  const made = await createDataDirApart(dataDir, { startParams, templateRoot, log: (l) => lines.push(l) });
  return { dataDir, made, lines };
}

/** Opens `dataDir` as the server does, migrates it, and counts the backlog's rows (0 on a new store). */
async function openAndMigrate(dataDir: string): Promise<number> {
  const [{ PGlite }, { drizzle }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  const pg = new PGlite(dataDir, serverPgliteOptions(PGlite.defaultStartParams));
  try {
    await pg.waitReady;
    await migrateBacklog(drizzle(pg));
    return (await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM backlog')).rows[0]!.n;
  } finally {
    await pg.close();
  }
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(packageRoot(), 'dist', 'backlog', 'initdb-child.js'))) throw new Error('dist/ missing: run `npx tsc -p .` first');
  const { PGlite } = await import('@electric-sql/pglite');
  startParams = serverPgliteOptions(PGlite.defaultStartParams).startParams ?? [];
});

afterAll(() => {
  for (const dir of roots.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('store template location', () => {
  it('MOSAIC_TOP_STORE_TEMPLATES, then XDG_CACHE_HOME, then ~/.cache; off turns templates off', () => {
    expect(storeTemplateRoot({ MOSAIC_TOP_STORE_TEMPLATES: '/x/t', XDG_CACHE_HOME: '/c' })).toBe('/x/t');
    expect(storeTemplateRoot({ MOSAIC_TOP_STORE_TEMPLATES: 'off', XDG_CACHE_HOME: '/c' })).toBeNull();
    expect(storeTemplateRoot({ XDG_CACHE_HOME: '/c' })).toBe('/c/mosaic-top/store-templates');
    expect(storeTemplateRoot({ XDG_CACHE_HOME: 'relative' })).toBe(path.join(os.homedir(), '.cache', 'mosaic-top', 'store-templates'));
    expect(storeTemplateRoot({})).toBe(path.join(os.homedir(), '.cache', 'mosaic-top', 'store-templates'));
  });

  it('the key follows the start parameters: other settings name another template', () => {
    const a = templateSlot('/r', startParams);
    expect(templateSlot('/r', [...startParams])).toEqual(a);
    const b = templateSlot('/r', [...startParams, '-c', 'work_mem=8MB']);
    expect(b.key).not.toBe(a.key);
    expect(b.dir).not.toBe(a.dir);
    expect(path.basename(a.dir)).toMatch(/^pglite-\d+\.\d+\.\d+-[0-9a-f]{16}$/);
  });
});

describe('stores made from the template', () => {
  let root = '';
  let slot: TemplateSlot;
  let firsts: Array<Awaited<ReturnType<typeof create>>> = [];

  beforeAll(async () => {
    root = tempDir('mt-tpl-root-');
    slot = templateSlot(root, startParams);
    // Two first creations at once on an empty cache: both run initdb, one template lands.
    firsts = await Promise.all([create(root), create(root)]);
  }, 300_000);

  it('concurrent first creations: both run initdb, exactly one keeps its store as the template, no build dir left', async () => {
    expect(firsts.map((f) => f.made.source)).toEqual(['initdb', 'initdb']);
    expect(firsts.flatMap((f) => f.lines).filter((l) => l.startsWith('kept this fresh store as the store template'))).toHaveLength(1);
    expect(fs.readdirSync(root)).toEqual([path.basename(slot.dir)]);
    for (const f of firsts) {
      expect(fs.readdirSync(f.dataDir).filter((n) => n.startsWith('.initdb-'))).toEqual([]);
      expect(await openAndMigrate(f.dataDir)).toBe(0);
    }
  });

  it('a later creation copies the template: the same files, byte for byte, and a store that opens and migrates', async () => {
    const kept = digest(slot.dir);
    const later = await create(root);
    expect(later.made).toEqual({ source: 'template', template: slot.dir });
    expect(later.lines).toEqual([]);
    expect(digest(later.dataDir)).toEqual(kept);
    expect(kept.has('PG_VERSION')).toBe(true);
    expect(fs.existsSync(path.join(later.dataDir, MANIFEST_NAME))).toBe(false);
    expect(fs.statSync(path.join(later.dataDir, 'PG_VERSION')).mode & 0o077).toBe(0);
    expect(await openAndMigrate(later.dataDir)).toBe(0);
  });

  it("a partial template (a file missing) or one under another key is refused by the copy; a write error is not the template's", () => {
    const other: TemplateSlot = { dir: slot.dir, key: '0123456789abcdef' };
    expect(() => copyTemplate(other, tempDir('mt-tpl-stage-'))).toThrow(/another key/);
    const partial = path.join(tempDir('mt-tpl-partial-'), path.basename(slot.dir));
    fs.cpSync(slot.dir, partial, { recursive: true });
    fs.rmSync(path.join(partial, 'global', 'pg_control'));
    expect(() => copyTemplate({ dir: partial, key: slot.key }, tempDir('mt-tpl-stage-'))).toThrow(/global\/pg_control is unreadable \(ENOENT\)/);
    fs.rmSync(path.join(partial, MANIFEST_NAME));
    expect(() => copyTemplate({ dir: partial, key: slot.key }, tempDir('mt-tpl-stage-'))).toThrow(/manifest is unreadable/);
    // A write that fails on the store's side (here: a name already taken; a full disk alike) is
    // no fault of the template: thrown as it is, so the template is kept.
    const taken = tempDir('mt-tpl-stage-');
    fs.mkdirSync(path.join(taken, 'PG_VERSION'));
    let writeError: unknown = null;
    try {
      copyTemplate(slot, taken);
    } catch (error) {
      writeError = error;
    }
    expect(writeError).toMatchObject({ code: 'EEXIST' });
    expect(writeError).not.toBeInstanceOf(TemplateUnusable);
  });

  it('a corrupt template makes no store of it: one line, initdb instead, and the template is replaced', { timeout: 300_000 }, async () => {
    const control = path.join(slot.dir, 'global', 'pg_control');
    const bytes = fs.readFileSync(control);
    bytes[16] = bytes[16]! ^ 0xff;
    fs.writeFileSync(control, bytes);
    const made = await create(root);
    expect(made.made.source).toBe('initdb');
    const unusable = made.lines.filter((l) => l.includes('is unusable'));
    expect(unusable).toHaveLength(1);
    expect(unusable[0]).toContain(`store template ${slot.dir} is unusable: global/pg_control differs from its manifest`);
    expect(made.lines.some((l) => l.startsWith('kept this fresh store as the store template'))).toBe(true);
    expect(await openAndMigrate(made.dataDir)).toBe(0);
    // The replacement is whole again: the next store copies it.
    const next = await create(root);
    expect(next.made.source).toBe('template');
    expect(await openAndMigrate(next.dataDir)).toBe(0);
  });
});
