/**
 * How the backlog server opens PGlite, sized for a backlog rather than for a database host.
 *
 * Memory (measured with /proc/<pid>/status, docs/performance.md "backlog server memory"):
 * - PGlite's Postgres zeroes its whole shared memory at start, so `shared_buffers` is resident
 *   for the server's life: initdb writes `shared_buffers = 128MB` into postgresql.conf, which
 *   made ~150 MB of the WebAssembly heap resident on a 3-card store. The server starts Postgres
 *   with {@link SERVER_POSTGRES_SETTINGS} instead (command-line settings override the file, so
 *   the data dir is not changed: a store made by an older version, or by upstream's CLI, opens
 *   as it is, and upstream's CLI still reads its own postgresql.conf).
 * - initdb runs in a SECOND PGlite instance, which copies its whole 128 MiB heap (to reset it
 *   before each Postgres run initdb makes) and dumps the new data dir as a tarball: ~600 MB at
 *   the peak. In the server's own process most of it stayed resident after initdb (no GC in a
 *   process that then sits idle; in a worker thread, glibc's malloc arenas kept ~150 MB of it).
 *   A new store is therefore made by a short-lived child process ({@link createDataDirApart}),
 *   whose memory goes back to the system when it exits — and only once per machine: its fresh
 *   output is kept as the store template, which later creations copy (backlog/store-template.ts).
 *
 * CPU: V8 compiles PGlite's WebAssembly with its baseline compiler (Liftoff) and recompiles the
 * functions that ran most with its optimizing one (TurboFan) on background threads. At V8's
 * default budget that tier-up follows Postgres' start itself (recovery, catalog loading): ~0.5 s
 * of CPU (of ~2 s) in every server start, for code that does not run again. A process that opens
 * a store raises the budget first ({@link tuneWasmTieringForStore}).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import type { PGliteOptions } from '@electric-sql/pglite';
import { describeCause } from '../lib/errors.js';
import { packageRoot } from '../lib/version.js';
import { copyTemplate, discardTemplate, saveTemplate, TemplateUnusable, templateSlot, type TemplateSlot } from './store-template.js';

/**
 * Postgres settings the backlog server starts with (`-c name=value`, over postgresql.conf).
 * `shared_buffers` 16 MB (2,048 pages) holds a backlog of tens of thousands of cards, their
 * indexes and the catalog; pages beyond it are read through the OS page cache. WAL buffers
 * follow (1/32 of it), work_mem stays Postgres' 4 MB.
 */
export const SERVER_POSTGRES_SETTINGS: readonly string[] = ['shared_buffers=16MB'];

/**
 * PGlite options of the backlog server: PGlite's own start parameters (`defaultStartParams`,
 * which `startParams` replaces) plus {@link SERVER_POSTGRES_SETTINGS}. Pure.
 */
export function serverPgliteOptions(defaultStartParams: readonly string[]): PGliteOptions {
  return { startParams: [...defaultStartParams, ...SERVER_POSTGRES_SETTINGS.flatMap((s) => ['-c', s])] };
}

/**
 * V8's WebAssembly tier-up budget for a process that serves a store (`--wasm-tiering-budget`,
 * roughly bytes of code executed in a function before TurboFan recompiles it; V8's default is
 * 1,800,000). 100× the default: Postgres' start no longer pays TurboFan for code it runs once,
 * while the code that serves every claim still tiers up within the first claims of a run.
 */
export const STORE_WASM_TIERING_BUDGET = 180_000_000;

/**
 * Sets {@link STORE_WASM_TIERING_BUDGET} for this process (V8 reads it when a WebAssembly
 * module is compiled: call it before PGlite is first opened). Called by the backlog server and
 * the initdb child only, never by a process that merely talks to a server.
 */
export function tuneWasmTieringForStore(): void {
  v8.setFlagsFromString(`--wasm-tiering-budget=${STORE_WASM_TIERING_BUDGET}`);
}

/** A failure crossing the process boundary: what lib/errors.ts describeCause reads, nothing more (no SQL, no stack). */
export interface TransferredCause {
  isError: boolean;
  name?: string;
  message?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

/** `error` as a {@link TransferredCause} (IPC keeps no class and drops an Error's `code`). Pure. */
export function causeForTransfer(error: unknown): TransferredCause {
  if (typeof error === 'string') return { isError: false, message: error };
  if (!error || typeof error !== 'object') return { isError: false, message: String(error) };
  const o = error as Record<string, unknown>;
  const pick = <T>(k: string, type: 'string' | 'number'): T | undefined => (typeof o[k] === type ? (o[k] as T) : undefined);
  return {
    isError: error instanceof Error,
    name: pick('name', 'string'),
    message: pick('message', 'string'),
    code: pick('code', 'string'),
    errno: pick('errno', 'number'),
    syscall: pick('syscall', 'string'),
    path: pick('path', 'string'),
  };
}

/** The thrown value again from a {@link TransferredCause}: an Error with its errno fields, or PGlite's plain errno object. Pure. */
export function causeFromTransfer(t: TransferredCause): unknown {
  const fields = Object.fromEntries(Object.entries(t).filter(([k, v]) => k !== 'isError' && v !== undefined));
  if (!t.isError) return fields;
  return Object.assign(new Error(t.message ?? t.name ?? 'unknown error'), fields);
}

/** What the initdb child sends before it exits: done (with its peak RSS, kB, and the migration versions it applied), or the cause of its failure. */
export type InitdbChildReply = { ok: true; peakRssKb: number | null; migrations: string[] } | { ok: false; cause: TransferredCause };

/** Name prefix of the directory a store is built in, inside the data dir (`.initdb-<server pid>`). */
const STAGING_PREFIX = '.initdb-';

/** The longest initdb may take before the child is killed, ms (it takes ~5 s; a loaded disk more). */
export const INITDB_BOUND_MS = 300_000;

/**
 * Moves the store built in `staging` into `dataDir`, `PG_VERSION` last (a data dir is a store
 * once it has one, backlog/server.ts dataDirExists), replacing what an earlier, interrupted
 * creation left under the same names; then removes `staging`. Throws the filesystem error.
 */
function moveStoreInto(staging: string, dataDir: string): void {
  const entries = fs.readdirSync(staging).sort((a, b) => Number(a === 'PG_VERSION') - Number(b === 'PG_VERSION'));
  for (const name of entries) {
    const target = path.join(dataDir, name);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(path.join(staging, name), target);
  }
  fs.rmdirSync(staging);
}

/** Removes staging dirs an interrupted creation left in `dataDir` (the caller holds its lock). */
function removeStaleStaging(dataDir: string): void {
  for (const name of fs.readdirSync(dataDir)) {
    if (name.startsWith(STAGING_PREFIX)) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }
}

/** Runs the initdb child on `staging`; resolves its reply, rejects when it dies without one or overstays {@link INITDB_BOUND_MS}. */
function runInitdbChild(staging: string): Promise<InitdbChildReply> {
  // tsc's output, whichever build runs this code: the CLI bundle (dist/bundle/) keeps this
  // module in a chunk, and a path relative to it would name a file the bundle does not have.
  const script = path.join(packageRoot(), 'dist', 'backlog', 'initdb-child.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, staging], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: InitdbChildReply | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), INITDB_BOUND_MS);
    child.on('message', (m: InitdbChildReply) => (reply = m));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (reply) resolve(reply);
      else
        reject(
          new Error(
            `initdb process pid ${child.pid} ${signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, or overstayed ${INITDB_BOUND_MS / 1000} s` : ''})` : `exited with code ${code}`} without a result`,
          ),
        );
    });
  });
}

/** How {@link createDataDirApart} makes a store. */
export interface CreateStoreOptions {
  /** PGlite start parameters of the server (serverPgliteOptions): part of the template's key (with the package's migrations). */
  startParams: readonly string[];
  /** Template root (backlog/store-template.ts storeTemplateRoot); null: always initdb. */
  templateRoot: string | null;
  /** One line per notable step (template used, kept, unusable). */
  log: (line: string) => void;
}

/**
 * What {@link createDataDirApart} did: copied the template, or ran initdb (the child's peak
 * RSS, kB, null when unknown; the migration versions it applied). Either way the store holds
 * the package's migrations.
 */
export type CreatedStore = { source: 'template'; template: string } | { source: 'initdb'; peakRssKb: number | null; migrations: string[] };

/**
 * Fills the empty `staging` from the store template when a usable one exists; true when it did.
 * An unusable template (partial, corrupt, of another key) is logged in one line and discarded;
 * the caller then runs initdb. Throws the filesystem error of writing `staging` (a full disk:
 * the template stays, and initdb would fail there too).
 */
function fillFromTemplate(slot: TemplateSlot | null, staging: string, log: (line: string) => void): boolean {
  if (!slot || !fs.existsSync(slot.dir)) return false;
  try {
    copyTemplate(slot, staging);
    return true;
  } catch (error) {
    if (!(error instanceof TemplateUnusable)) throw error;
    log(`store template ${slot.dir} is unusable: ${describeCause(error)}; creating the store with initdb (the template is replaced)`);
    discardTemplate(slot);
    for (const name of fs.readdirSync(staging)) fs.rmSync(path.join(staging, name), { recursive: true, force: true });
    return false;
  }
}

/** The template slot under `root`, or null (templates off, or PGlite's package unreadable: logged). Never throws. */
function slotFor(opts: CreateStoreOptions): TemplateSlot | null {
  if (!opts.templateRoot) return null;
  try {
    return templateSlot(opts.templateRoot, opts.startParams);
  } catch (error) {
    opts.log(`store template unavailable (${describeCause(error)}); creating the store with initdb`);
    return null;
  }
}

/**
 * Creates the PGlite data dir `dataDir`: a copy of the store template when a valid one exists
 * (backlog/store-template.ts), else initdb (then one start with the server's settings, the
 * backlog's migrations and a clean close) in a child process, so none of initdb's memory stays in this one (see the module
 * comment); initdb's fresh output then becomes the template (best effort: a failure to keep it
 * is logged, never fatal). Either way the store is built in `<dataDir>/.initdb-<pid>` and moved
 * into place whole, `PG_VERSION` last: a child orphaned by a killed server never writes the data
 * dir itself (and exits when its IPC channel closes). The caller holds the data dir's lock.
 * Rejects with the child's cause (a full disk: PGlite's errno object, as an in-process open
 * would throw it), or an Error naming the child when it died without one.
 */
export async function createDataDirApart(dataDir: string, opts: CreateStoreOptions): Promise<CreatedStore> {
  removeStaleStaging(dataDir);
  const staging = path.join(dataDir, `${STAGING_PREFIX}${process.pid}`);
  fs.mkdirSync(staging, { mode: 0o700 });
  try {
    const slot = slotFor(opts);
    if (slot && fillFromTemplate(slot, staging, opts.log)) {
      moveStoreInto(staging, dataDir);
      return { source: 'template', template: slot.dir };
    }
    const reply = await runInitdbChild(staging);
    if (!reply.ok) throw causeFromTransfer(reply.cause);
    if (slot) keepTemplate(slot, staging, opts.log);
    moveStoreInto(staging, dataDir);
    return { source: 'initdb', peakRssKb: reply.peakRssKb, migrations: reply.migrations };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Keeps initdb's fresh output in `staging` as the template of `slot`; logs the outcome in one line. Never throws. */
function keepTemplate(slot: TemplateSlot, staging: string, log: (line: string) => void): void {
  try {
    if (saveTemplate(slot, staging)) log(`kept this fresh store as the store template ${slot.dir}`);
  } catch (error) {
    log(`could not keep the store template ${slot.dir} (${describeCause(error)}); the next store runs initdb again`);
  }
}
