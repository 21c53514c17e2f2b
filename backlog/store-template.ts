/**
 * The store template: a copy of a freshly initdb'd PGlite data dir, kept in the user's cache so
 * later stores are made by copying it instead of running initdb (~5 s of CPU and a ~600 MB
 * child process each time, backlog/pglite-open.ts).
 *
 * What it holds: exactly what the initdb child leaves (initdb, one start with the server's
 * settings, the backlog's migrations (backlog/migrate.ts), a clean close), so a store made from
 * it is byte for byte the store the initdb child would have made (system identifier and the
 * migrations' `applied_at` included: harmless for a store nothing replicates) and the server
 * finds no migration pending on it (a migration costs ~1 s of CPU at the first start).
 *
 * Validity: the template's name carries a hash of everything that shapes the child's output —
 * PGlite's package.json (its version and the Postgres it embeds), the start parameters (PGlite's
 * own and the server's Postgres settings), the migration files (versions, names, statements)
 * and this format's version. A manifest inside it lists every dir and file with its size and
 * SHA-256. A template that is partial, edited or corrupt never becomes a store: the creation
 * falls back to initdb (and replaces the template).
 *
 * Checking a copy: each file is hashed against the manifest once; its identity then (device,
 * inode, size, mtime, ctime, mode) is kept in a stamp beside the manifest. A later copy copies
 * a file whose identity still matches the stamp in the kernel (copy_file_range, no hashing);
 * any write, truncation, chmod or replacement of a template file changes its ctime or inode,
 * so that file is hashed again. A file changed within {@link RACY_MARGIN_NS} of the stamp
 * could share its timestamps (coarse file clocks), so such a file is always hashed (as git
 * treats "racily clean" index entries).
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
import { messageOf } from '../lib/errors.js';
import { makeDirs } from '../lib/owner-only.js';
import { readMigrations, type MigrationFile } from './migrate.js';

/** Version of the template layout and manifest; bumped when either changes. */
const TEMPLATE_FORMAT = 2;
/** The manifest's name inside a template dir (never copied into a store). */
export const MANIFEST_NAME = 'mosaic-top-template.json';
/** The stamp of files checked since they last changed, inside a template dir (never copied into a store). */
export const STAMP_NAME = 'mosaic-top-checked.json';
/** A file whose ctime is not this much older than the stamp is hashed on every copy, ns (coarse file clocks: 1-2 s on some filesystems). */
const RACY_MARGIN_NS = 3_000_000_000n;

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
 * own and the server's settings, backlog/pglite-open.ts serverPgliteOptions) and the migrations
 * the initdb child applies (`migrations`, default: the package's, backlog/migrate.ts). Throws
 * when PGlite's package.json or the migrations cannot be read (then no template is used).
 */
export function templateSlot(root: string, startParams: readonly string[], migrations: readonly MigrationFile[] = readMigrations()): TemplateSlot {
  const { pkgText, version } = pglitePackage();
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify({ format: TEMPLATE_FORMAT, pglitePackage: pkgText, startParams, migrations }))
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

/** A template file `rel` that could not be read or stat'ed (ENOENT: a partial template), as {@link TemplateUnusable}. */
function unreadable(rel: string, error: unknown): TemplateUnusable {
  return new TemplateUnusable(`${rel} is unreadable (${(error as NodeJS.ErrnoException).code ?? messageOf(error)})`, { cause: error });
}

/** The bytes of `file` in the template; a read error as {@link unreadable}. */
function readTemplateFile(file: string, rel: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw unreadable(rel, error);
  }
}

/** A file's identity as the stamp keeps it: device, inode, size, mtime ns, ctime ns, mode (decimal strings). */
type FileIdentity = string;

/** What {@link STAMP_NAME} holds: the key and each checked file's identity (when it was written: its own mtime, the files' clock). */
interface TemplateStamp {
  key: string;
  files: Record<string, FileIdentity>;
}

/** The identity of a file from its bigint lstat. Pure. */
function identityOf(st: fs.BigIntStats): FileIdentity {
  return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs, st.mode].join(':');
}

/** The stamp of the template in `slot` with its files still trusted (ctime older than the stamp by the margin); empty when there is none, of another key, or unreadable. Never throws. */
function readStamp(slot: TemplateSlot): Map<string, { identity: FileIdentity; writtenAtNs: bigint }> {
  try {
    const file = path.join(slot.dir, STAMP_NAME);
    const writtenAtNs = fs.lstatSync(file, { bigint: true }).mtimeNs;
    const stamp = JSON.parse(fs.readFileSync(file, 'utf8')) as TemplateStamp;
    if (stamp.key !== slot.key || typeof stamp.files !== 'object' || !stamp.files) return new Map();
    return new Map(Object.entries(stamp.files).map(([rel, identity]) => [rel, { identity: String(identity), writtenAtNs }]));
  } catch {
    return new Map();
  }
}

/** Writes the stamp of `files` (path → identity) into `dir` for `key`, aside then renamed. Best effort: a read-only cache keeps hashing. Never throws. */
function writeStamp(dir: string, key: string, files: Map<string, FileIdentity>): void {
  const aside = path.join(dir, `.${STAMP_NAME}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    const stamp: TemplateStamp = { key, files: Object.fromEntries(files) };
    fs.writeFileSync(aside, JSON.stringify(stamp) + '\n', { mode: 0o600, flag: 'wx' });
    fs.renameSync(aside, path.join(dir, STAMP_NAME));
  } catch {
    fs.rmSync(aside, { force: true });
  }
}

/** The bigint lstat of a template file; a missing or unreadable one (a partial template) as {@link TemplateUnusable}. */
function statTemplateFile(file: string, rel: string): fs.BigIntStats {
  try {
    return fs.lstatSync(file, { bigint: true });
  } catch (error) {
    throw unreadable(rel, error);
  }
}

/**
 * Copies one template file to `to`: in the kernel when `trusted` (its identity matches the
 * stamp), else read, hashed against `listed` and written (mode 0600). Throws
 * {@link TemplateUnusable} when the template's file is missing or differs, else the
 * filesystem error of writing `to`.
 */
function copyTemplateFile(from: string, to: string, listed: ManifestFile, trusted: boolean): void {
  if (trusted) {
    try {
      fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL);
      return;
    } catch (error) {
      // Gone since its lstat: the template's fault; anything else is the store's side.
      if (!fs.existsSync(from)) throw unreadable(listed.path, error);
      throw error;
    }
  }
  const data = readTemplateFile(from, listed.path);
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  if (data.length !== listed.size || sha256 !== listed.sha256)
    throw new TemplateUnusable(`${listed.path} differs from its manifest (${data.length} bytes, want ${listed.size})`);
  fs.writeFileSync(to, data, { mode: 0o600, flag: 'wx' });
}

/** The manifest of the template in `slot`; {@link TemplateUnusable} when it is unreadable, of another key or lists no PG_VERSION. */
function readManifest(slot: TemplateSlot): TemplateManifest {
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(slot.dir, MANIFEST_NAME), 'utf8')) as TemplateManifest;
  } catch (error) {
    throw unreadable('its manifest', error);
  }
  if (manifest.format !== TEMPLATE_FORMAT || manifest.key !== slot.key) throw new TemplateUnusable(`its manifest names another key (${manifest.key})`);
  if (!Array.isArray(manifest.dirs) || !Array.isArray(manifest.files) || !manifest.files.some((f) => f.path === 'PG_VERSION'))
    throw new TemplateUnusable('its manifest lists no PG_VERSION');
  return manifest;
}

/**
 * Copies the template in `slot` into the empty dir `staging`, checking every file against the
 * manifest as it goes: hashed, unless its identity still matches the stamp (module comment);
 * files hashed now are stamped for the next copy. Throws {@link TemplateUnusable} saying what
 * is wrong with the template (manifest unreadable or of another key, a file missing, a size
 * or hash that differs), or the filesystem error of writing `staging` (e.g. ENOSPC: initdb
 * would fail there too); `staging` then holds a partial copy the caller removes. Returns how
 * many files it copied and how many of them it hashed.
 */
export function copyTemplate(slot: TemplateSlot, staging: string): { files: number; hashed: number } {
  const manifest = readManifest(slot);
  const stamp = readStamp(slot);
  const checked = new Map<string, FileIdentity>();
  let hashed = 0;
  for (const dir of manifest.dirs) fs.mkdirSync(path.join(staging, dir), { recursive: true, mode: 0o700 });
  for (const file of manifest.files) {
    const from = path.join(slot.dir, file.path);
    const st = statTemplateFile(from, file.path);
    const identity = identityOf(st);
    const known = stamp.get(file.path);
    const trusted =
      known !== undefined &&
      known.identity === identity &&
      st.ctimeNs + RACY_MARGIN_NS < known.writtenAtNs &&
      (st.mode & 0o077n) === 0n &&
      st.size === BigInt(file.size);
    copyTemplateFile(from, path.join(staging, file.path), file, trusted);
    if (!trusted) hashed += 1;
    checked.set(file.path, identity);
  }
  const pgVersion = fs.readFileSync(path.join(staging, 'PG_VERSION'), 'utf8').trim();
  if (pgVersion !== manifest.pgVersion) throw new TemplateUnusable(`its PG_VERSION ${pgVersion} is not the manifest's ${manifest.pgVersion}`);
  if (hashed > 0) writeStamp(slot.dir, slot.key, checked);
  return { files: manifest.files.length, hashed };
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
