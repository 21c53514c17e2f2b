/**
 * The store template (backlog/store-template.ts) through backlog/pglite-open.ts
 * createDataDirApart: one real initdb child (dist/backlog/initdb-child.js, needs a build),
 * made to run by a corrupt copy of the run's template, and real copies, counted by where each
 * store came from and how many files were hashed. Every store made is opened by PGlite and
 * migrated (none pending), so a bad copy cannot pass.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataDirApart, serverPgliteOptions, type CreatedStore } from '../../backlog/pglite-open.js';
import {
  copyTemplate,
  MANIFEST_NAME,
  saveTemplate,
  STAMP_NAME,
  storeTemplateRoot,
  templateSlot,
  TemplateUnusable,
  type TemplateSlot,
} from '../../backlog/store-template.js';
import { migrateBacklog, readMigrations } from '../../backlog/migrate.js';
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
    if (rel !== MANIFEST_NAME && rel !== STAMP_NAME && fs.statSync(full).isFile())
      out.set(rel, crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
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

/** Opens `dataDir` as the server does, migrates it: the versions applied now, and the backlog's rows (0 on a new store). */
async function openAndMigrate(dataDir: string): Promise<{ applied: string[]; rows: number }> {
  const [{ PGlite }, { drizzle }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  const pg = new PGlite(dataDir, serverPgliteOptions(PGlite.defaultStartParams));
  try {
    await pg.waitReady;
    const applied = await migrateBacklog(drizzle(pg));
    return { applied, rows: (await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM backlog')).rows[0]!.n };
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

  it('the key follows the migrations too: a changed or added migration names another template', () => {
    const migrations = readMigrations();
    const a = templateSlot('/r', startParams, migrations);
    expect(templateSlot('/r', startParams)).toEqual(a);
    const changed = migrations.map((m, i) => (i === 0 ? { ...m, statements: [...m.statements, 'SELECT 1'] } : m));
    expect(templateSlot('/r', startParams, changed).key).not.toBe(a.key);
    expect(templateSlot('/r', startParams, [...migrations, { version: '9999', name: 'next', statements: ['SELECT 1'] }]).key).not.toBe(a.key);
  });
});

/** The run's store template (test/global-setup.ts made it through the program's own creation). */
function runTemplate(): TemplateSlot {
  const root = storeTemplateRoot();
  const slot = root ? templateSlot(root, startParams) : null;
  if (!slot || !fs.existsSync(path.join(slot.dir, MANIFEST_NAME)))
    throw new Error(`no store template of the run at ${slot?.dir ?? '(templates off)'}: test/global-setup.ts makes it`);
  return slot;
}

/** A copy of the template `from` under a fresh root, with the same key (its files are new inodes: nothing of the stamp holds for them). */
function copyOfTemplate(from: TemplateSlot): TemplateSlot {
  const dir = path.join(tempDir('mt-tpl-copy-'), path.basename(from.dir));
  fs.cpSync(from.dir, dir, { recursive: true });
  return { dir, key: from.key };
}

/** Sets the time of `slot`'s stamp (made by a copy first when there is none) to `at`. */
function setStampTime(slot: TemplateSlot, at: Date): void {
  const stamp = path.join(slot.dir, STAMP_NAME);
  if (!fs.existsSync(stamp)) copyTemplate(slot, tempDir('mt-tpl-stage-'));
  fs.utimesSync(stamp, at, at);
}

/** Moves the stamp of `slot` 10 s ahead: its files then count as changed well before it (what time passing does). */
function ageTemplateFiles(slot: TemplateSlot): void {
  setStampTime(slot, new Date(Date.now() + 10_000));
}

/** Moves the stamp of `slot` to 1 s after its oldest file's change: every file is then within the margin of a coarse file clock. */
function makeStampRacy(slot: TemplateSlot): void {
  const ctimes = [...digest(slot.dir).keys()].map((rel) => fs.statSync(path.join(slot.dir, rel)).ctimeMs);
  setStampTime(slot, new Date(Math.min(...ctimes) + 1000));
}

describe('stores made from the template', () => {
  let root = '';
  let slot: TemplateSlot;
  let first: Awaited<ReturnType<typeof create>>;

  beforeAll(async () => {
    // The file's one real initdb: a corrupt template (a copy of the run's, one byte of
    // pg_control flipped) under an empty root, so the creation must refuse it and run initdb.
    root = tempDir('mt-tpl-root-');
    slot = templateSlot(root, startParams);
    fs.cpSync(runTemplate().dir, slot.dir, { recursive: true });
    const control = path.join(slot.dir, 'global', 'pg_control');
    const bytes = fs.readFileSync(control);
    bytes[16] = bytes[16]! ^ 0xff;
    fs.writeFileSync(control, bytes);
    first = await create(root);
  }, 300_000);

  it('a corrupt template makes no store of it: one line, initdb (with the migrations) instead, and the template is replaced', async () => {
    expect(first.made).toMatchObject({ source: 'initdb', migrations: ['0001', '0003'] });
    const unusable = first.lines.filter((l) => l.includes('is unusable'));
    expect(unusable).toHaveLength(1);
    expect(unusable[0]).toContain(`store template ${slot.dir} is unusable: global/pg_control differs from its manifest`);
    expect(first.lines.filter((l) => l.startsWith('kept this fresh store as the store template'))).toHaveLength(1);
    expect(fs.readdirSync(root)).toEqual([path.basename(slot.dir)]);
    expect(fs.readdirSync(first.dataDir).filter((n) => n.startsWith('.initdb-'))).toEqual([]);
    expect(await openAndMigrate(first.dataDir)).toEqual({ applied: [], rows: 0 });
  });

  it('a second keeper of the same template loses the rename: exactly one template, unchanged, no build dir left', () => {
    const kept = digest(slot.dir);
    expect(saveTemplate(slot, first.dataDir)).toBe(false);
    expect(fs.readdirSync(root)).toEqual([path.basename(slot.dir)]);
    expect(digest(slot.dir)).toEqual(kept);
  });

  it('later creations copy the template: the same files, byte for byte, stores that open with no migration pending', async () => {
    const kept = digest(slot.dir);
    // Two at once: both copy (and stamp) the template, neither disturbs the other.
    const laters = await Promise.all([create(root), create(root)]);
    for (const later of laters) {
      expect(later.made).toEqual({ source: 'template', template: slot.dir });
      expect(later.lines).toEqual([]);
      expect(digest(later.dataDir)).toEqual(kept);
      expect(fs.existsSync(path.join(later.dataDir, MANIFEST_NAME))).toBe(false);
      expect(fs.existsSync(path.join(later.dataDir, STAMP_NAME))).toBe(false);
      expect(fs.statSync(path.join(later.dataDir, 'PG_VERSION')).mode & 0o077).toBe(0);
      expect(await openAndMigrate(later.dataDir)).toEqual({ applied: [], rows: 0 });
    }
    expect(kept.has('PG_VERSION')).toBe(true);
  });

  it('a file is hashed until it is stamped as checked, then copied unhashed; one changed after its stamp is hashed again and refused', () => {
    const copy = copyOfTemplate(slot);
    const files = (JSON.parse(fs.readFileSync(path.join(copy.dir, MANIFEST_NAME), 'utf8')) as { files: unknown[] }).files.length;
    expect(copyTemplate(copy, tempDir('mt-tpl-stage-'))).toEqual({ files, hashed: files });
    // Checked within the margin of the files' last change (a change in the same clock tick would not show): hashed again.
    makeStampRacy(copy);
    expect(copyTemplate(copy, tempDir('mt-tpl-stage-'))).toEqual({ files, hashed: files });
    ageTemplateFiles(copy);
    const fast = tempDir('mt-tpl-stage-');
    expect(copyTemplate(copy, fast)).toEqual({ files, hashed: 0 });
    expect(digest(fast)).toEqual(digest(slot.dir));
    // One byte flipped in place (same size, same inode) after the stamp: hashed, refused.
    const control = path.join(copy.dir, 'global', 'pg_control');
    const bytes = fs.readFileSync(control);
    bytes[16] = bytes[16]! ^ 0xff;
    fs.writeFileSync(control, bytes);
    expect(() => copyTemplate(copy, tempDir('mt-tpl-stage-'))).toThrow(TemplateUnusable);
    expect(() => copyTemplate(copy, tempDir('mt-tpl-stage-'))).toThrow(/global\/pg_control differs from its manifest/);
    // A file removed after the stamp: refused as partial.
    fs.rmSync(path.join(copy.dir, 'PG_VERSION'));
    expect(() => copyTemplate(copy, tempDir('mt-tpl-stage-'))).toThrow(/PG_VERSION is unreadable \(ENOENT\)/);
  });

  it("a partial template (a file missing) or one under another key is refused by the copy; a write error is not the template's", () => {
    const other: TemplateSlot = { dir: slot.dir, key: '0123456789abcdef' };
    expect(() => copyTemplate(other, tempDir('mt-tpl-stage-'))).toThrow(/another key/);
    const partial = copyOfTemplate(slot);
    fs.rmSync(path.join(partial.dir, 'global', 'pg_control'));
    expect(() => copyTemplate(partial, tempDir('mt-tpl-stage-'))).toThrow(/global\/pg_control is unreadable \(ENOENT\)/);
    fs.rmSync(path.join(partial.dir, MANIFEST_NAME));
    expect(() => copyTemplate(partial, tempDir('mt-tpl-stage-'))).toThrow(/manifest is unreadable/);
    // A write that fails on the store's side (here: a name already taken; a full disk alike) is
    // no fault of the template: thrown as it is, so the template is kept — hashed or stamped.
    for (const aged of [false, true]) {
      if (aged) ageTemplateFiles(slot);
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
    }
  });
});
