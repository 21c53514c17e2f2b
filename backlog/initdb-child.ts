/**
 * The initdb child of the backlog server (backlog/pglite-open.ts createDataDirApart):
 * `node initdb-child.js <staging dir>` opens PGlite there (which runs initdb, then starts
 * Postgres once with the server's settings), applies the backlog's migrations
 * (backlog/migrate.ts: the server finds none pending, and the store template holds them),
 * closes it, sends `{ok: true, peakRssKb, migrations}` or the failure's cause over its IPC
 * channel, and exits — taking initdb's memory with it. Exits
 * at once when the channel closes first (the server is gone).
 */
import fs from 'node:fs';
import { causeForTransfer, serverPgliteOptions, tuneWasmTieringForStore, type InitdbChildReply } from './pglite-open.js';

/** This process's peak RSS (VmHWM), kB; null when /proc cannot say. */
function peakRssKb(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Builds the store in `dir`; the reply to send. Never throws. */
async function build(dir: string): Promise<InitdbChildReply> {
  try {
    const [{ PGlite }, { drizzle }, { migrateBacklog }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('drizzle-orm/pglite'),
      import('./migrate.js'),
    ]);
    tuneWasmTieringForStore();
    const pg = new PGlite(dir, serverPgliteOptions(PGlite.defaultStartParams));
    let migrations: string[];
    try {
      await pg.waitReady;
      migrations = await migrateBacklog(drizzle(pg));
    } finally {
      await pg.close().catch(() => {});
    }
    return { ok: true, peakRssKb: peakRssKb(), migrations };
  } catch (error) {
    return { ok: false, cause: causeForTransfer(error) };
  }
}

let replied = false;
// The server died (or gave up): nothing to build for; it never moves a dir it did not wait for.
process.on('disconnect', () => {
  if (!replied) process.exit(1);
});
const dir = process.argv[2];
const reply: InitdbChildReply = dir ? await build(dir) : { ok: false, cause: { isError: true, message: 'initdb child: no staging dir given' } };
replied = true;
if (process.send) process.send(reply, () => process.disconnect());
