/**
 * The store template: a copy of a freshly initdb'd PGlite data dir, kept in the user's cache so
 * later stores are made by copying it instead of running initdb (~5 s of CPU and a ~600 MB
 * child process each time, backlog/pglite-open.ts).
 *
 * What it holds: exactly what the initdb child leaves (initdb, one start with the server's
 * settings, a clean close) — nothing of ours. The migrations still run on every new store as
 * on any store (backlog/migrate.ts), so the template does not depend on our schema and a
 * store made from it is byte for byte the store initdb would have made (system identifier
 * included: harmless for a store nothing replicates).
 *
 * Validity: the template's name carries a hash of everything that shapes initdb's output —
 * PGlite's package.json (its version and the Postgres it embeds), the start parameters (PGlite's
 * own and the server's Postgres settings) and this format's version. A manifest inside it lists every
 * dir and file with its size and SHA-256; a copy is checked file by file against it as it is
 * made, so a template that is partial, edited or corrupt never becomes a store: the creation
 * falls back to initdb (and replaces the template).
 *
 * Concurrency: a template is built aside (`.build-<name>-<pid>-<random>`) and renamed into place
 * whole; when two creators race, the first rename wins and the other drops its copy.
 *
 * Location: `$MOSAIC_TOP_STORE_TEMPLATES` (a dir, or `off` to always run initdb), else
 * `$XDG_CACHE_HOME/mosaic-top/store-templates`, else `~/.cache/mosaic-top/store-templates`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { makeDirs } from '../lib/owner-only.js';

/** Version of the template layout and manifest; bumped when either changes. */
const TEMPLATE_FORMAT = 1;
/** The manifest's name inside a template dir (never copied into a store). */
export const MANIFEST_NAME = 'mosaic-top-template.json';

/** One file of a template: path relative to its root ('/'-separated), size in bytes, SHA-256 hex. */
interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

/** The manifest of a template: its key, the Postgres major version, every dir and file. */
interface TemplateManifest {
  format: number;
  key: string;
  pgVersion: string;
  dirs: string[];
  files: ManifestFile[];
}

/**
 * The template root dir for `env`, or null when templates are off (`MOSAIC_TOP_STORE_TEMPLATES=off`).
 * Relative XDG_CACHE_HOME values are ignored, as the XDG spec says. Pure but for os.homedir().
 */
export function storeTemplateRoot(env: NodeJS.ProcessEnv = process.env): string | null {
  const override = env.MOSAIC_TOP_STORE_TEMPLATES;
  if (override === 'off') return null;
  if (override) return path.resolve(override);
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(xdg, 'mosaic-top', 'store-templates');
}

/** The dir of the template that fits this PGlite and these settings: `<root>/pglite-<version>-<key>`. */
export interface TemplateSlot {
  dir: string;
  key: string;
}

/** PGlite's package.json (text and version), found from its entry point upwards. Throws when there is none. */
function pglitePackage(): { pkgText: string; version: string } {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkgText = fs.readFileSync(file, 'utf8');
    const pkg = JSON.parse(pkgText) as { name?: string; version?: string };
    if (pkg.name === '@electric-sql/pglite') return { pkgText, version: pkg.version ?? 'unknown' };
  }
  throw new Error(`no package.json of @electric-sql/pglite above ${entry}`);
}

/**
 * The template slot under `root` for the installed PGlite started with `startParams` (PGlite's
 * own and the server's settings, backlog/pglite-open.ts serverPgliteOptions). Throws when PGlite's package.json cannot be read (then no template is used).
 */
export function templateSlot(root: string, startParams: readonly string[]): TemplateSlot {
  const { pkgText, version } = pglitePackage();
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify({ format: TEMPLATE_FORMAT, pglitePackage: pkgText, startParams }))
    .digest('hex')
    .slice(0, 16);
  return { dir: path.join(root, `pglite-${version.replace(/[^\w.-]/g, '_')}-${key}`), key };
}

/** Every dir and file under `root` ('/'-separated, relative, sorted), the manifest excluded. Throws on a read error or a special file. */
function walk(root: string): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  const visit = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        dirs.push(child);
        visit(child);
      } else if (entry.isFile()) {
        if (child !== MANIFEST_NAME) files.push(child);
      } else throw new Error(`${path.join(root, child)} is neither a file nor a dir`);
    }
  };
  visit('');
  return { dirs: dirs.sort(), files: files.sort() };
}

/** Copies `from` to `to` (mode 0600), returning its size and SHA-256. Throws the filesystem error. */
function copyHashed(from: string, to: string): { size: number; sha256: string } {
  const data = fs.readFileSync(from);
  fs.writeFileSync(to, data, { mode: 0o600, flag: 'wx' });
  return { size: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex') };
}

/** A template that cannot make a store (missing, partial, corrupt, another key): the creation runs initdb instead. */
export class TemplateUnusable extends Error {}

/** The bytes of `file` in the template; a read error (ENOENT: a partial template) as {@link TemplateUnusable}. */
function readTemplateFile(file: string, rel: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new TemplateUnusable(`${rel} is unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
}

/**
 * Copies the template in `slot` into the empty dir `staging`, checking every file against the
 * manifest as it goes. Throws {@link TemplateUnusable} saying what is wrong with the template
 * (manifest unreadable or of another key, a file missing, a size or hash that differs), or
 * the filesystem error of writing `staging` (e.g. ENOSPC: initdb would fail there too);
 * `staging` then holds a partial copy the caller removes.
 */
export function copyTemplate(slot: TemplateSlot, staging: string): void {
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(slot.dir, MANIFEST_NAME), 'utf8')) as TemplateManifest;
  } catch (error) {
    throw new TemplateUnusable(`its manifest is unreadable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
  }
  if (manifest.format !== TEMPLATE_FORMAT || manifest.key !== slot.key) throw new TemplateUnusable(`its manifest names another key (${manifest.key})`);
  if (!Array.isArray(manifest.dirs) || !Array.isArray(manifest.files) || !manifest.files.some((f) => f.path === 'PG_VERSION'))
    throw new TemplateUnusable('its manifest lists no PG_VERSION');
  for (const dir of manifest.dirs) fs.mkdirSync(path.join(staging, dir), { recursive: true, mode: 0o700 });
  for (const file of manifest.files) {
    const data = readTemplateFile(path.join(slot.dir, file.path), file.path);
    const sha256 = crypto.createHash('sha256').update(data).digest('hex');
    if (data.length !== file.size || sha256 !== file.sha256)
      throw new TemplateUnusable(`${file.path} differs from its manifest (${data.length} bytes, want ${file.size})`);
    fs.writeFileSync(path.join(staging, file.path), data, { mode: 0o600, flag: 'wx' });
  }
  const pgVersion = fs.readFileSync(path.join(staging, 'PG_VERSION'), 'utf8').trim();
  if (pgVersion !== manifest.pgVersion) throw new TemplateUnusable(`its PG_VERSION ${pgVersion} is not the manifest's ${manifest.pgVersion}`);
}

/**
 * Keeps the store built in `store` (an initdb child's output, not yet moved or written to) as
 * the template of `slot`: copied aside with its manifest, then renamed into place. Resolves
 * true when this call placed it, false when another creator's template is already there.
 * Throws the filesystem error (the build dir is removed first).
 */
export function saveTemplate(slot: TemplateSlot, store: string): boolean {
  const root = path.dirname(slot.dir);
  makeDirs(root);
  const build = path.join(root, `.build-${path.basename(slot.dir)}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(build, { mode: 0o700 });
    const { dirs, files } = walk(store);
    for (const dir of dirs) fs.mkdirSync(path.join(build, dir), { mode: 0o700 });
    const listed = files.map((file) => ({ path: file, ...copyHashed(path.join(store, file), path.join(build, file)) }));
    const pgVersion = fs.readFileSync(path.join(build, 'PG_VERSION'), 'utf8').trim();
    const manifest: TemplateManifest = { format: TEMPLATE_FORMAT, key: slot.key, pgVersion, dirs, files: listed };
    fs.writeFileSync(path.join(build, MANIFEST_NAME), JSON.stringify(manifest) + '\n', { mode: 0o600 });
    try {
      fs.renameSync(build, slot.dir);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw error;
    }
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
}

/**
 * Removes the unusable template in `slot` (renamed aside first, so a concurrent creator never
 * sees half of it removed as a template; one that is copying from it fails its check and runs
 * initdb). Never throws.
 */
export function discardTemplate(slot: TemplateSlot): void {
  const aside = `${slot.dir}.bad-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(slot.dir, aside);
    fs.rmSync(aside, { recursive: true, force: true });
  } catch {
    // Gone already, or not ours to remove: the next creation checks it again.
  }
}
