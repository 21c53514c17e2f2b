import os from 'node:os';
import path from 'node:path';

/** Every path mosaic-top uses, resolved once per run (flags, then environment, then defaults). */
export interface MosaicPaths {
  /** Mosaic home: `--mosaic-home`, then `MOSAIC_HOME`, then `~/.config/mosaic`. */
  mosaicHome: string;
  /** Roster file: `--roster`, else `<home>/fleet/roster.yaml`. */
  roster: string;
  /** Per-agent env files `<name>.env`: `<home>/fleet/agents`. */
  agentsDir: string;
  /** Run dir: heartbeats `<agent>.hb`, the `PAUSED` flag, the backlog server socket. */
  runDir: string;
  /** Embedded backlog (PGlite data dir): `PGLITE_DATA_DIR`, else `<home>/fleet/backlog`. */
  backlogDataDir: string;
  /** Unix socket of the embedded backlog server: `<run>/backlog.sock`. */
  backlogSocket: string;
  /** `DATABASE_URL` when set (wins over the embedded tier). Never print it: use {@link maskDatabaseUrl}. */
  databaseUrl: string | null;
}

/** Options that can override the environment (flags beat environment, environment beats defaults). */
export interface PathOptions {
  mosaicHome?: string;
  roster?: string;
}

/** Expands a leading `~` to the user's home directory. */
export function expandHome(p: string, home = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/**
 * Resolves every path: flags, then environment (`MOSAIC_HOME`, `PGLITE_DATA_DIR`,
 * `DATABASE_URL`), then defaults. Pure: reads only `env` and the home directory; creates nothing.
 */
export function resolvePaths(opts: PathOptions = {}, env: NodeJS.ProcessEnv = process.env): MosaicPaths {
  const homeDir = os.homedir();
  const mosaicHome = path.resolve(expandHome(opts.mosaicHome ?? env.MOSAIC_HOME ?? path.join(homeDir, '.config', 'mosaic'), homeDir));
  const fleetDir = path.join(mosaicHome, 'fleet');
  const runDir = path.join(fleetDir, 'run');
  return {
    mosaicHome,
    roster: path.resolve(expandHome(opts.roster ?? path.join(fleetDir, 'roster.yaml'), homeDir)),
    agentsDir: path.join(fleetDir, 'agents'),
    runDir,
    backlogDataDir: path.resolve(expandHome(env.PGLITE_DATA_DIR || path.join(fleetDir, 'backlog'), homeDir)),
    backlogSocket: path.join(runDir, 'backlog.sock'),
    databaseUrl: env.DATABASE_URL ? env.DATABASE_URL : null,
  };
}

/**
 * Masks the password of a Postgres URL (`postgres://u:secret@h/db` ⇒ `postgres://u:***@h/db`).
 * Strings that do not parse as URLs are masked whole after the scheme, so nothing leaks.
 */
export function maskDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/pass/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*:\/\/)/i.exec(url)?.[1] ?? '';
    return `${scheme}***`;
  }
}

/** Masks every `scheme://user:password@` credential found inside free text (error messages). */
export function maskCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:\s/@]*:)[^@\s/]*@/gi, '$1***@');
}
