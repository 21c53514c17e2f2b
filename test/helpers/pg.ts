/**
 * A throwaway database on the run's PostgreSQL cluster (test/global-setup.ts), for tests that
 * run the server tier (DATABASE_URL): its URL, the backends connected to it, and a drop.
 */
import { inject } from 'vitest';
import { realPartAvailable } from './real-parts.js';

/** One test database: `url` to hand to the program, `backends()` to count its connections. */
export interface TestDatabase {
  name: string;
  url: string;
  /** Backend pids connected to this database (the admin connection excluded), ascending. */
  backends(): Promise<number[]>;
  /** Terminates one backend (as Postgres would on a restart or an idle kill). */
  terminate(pid: number): Promise<void>;
  /** Drops the database (connections forced out) and closes the admin connection. */
  drop(): Promise<void>;
}

/**
 * The cluster's admin URL, or undefined when the cluster is unavailable (outside CI only: under
 * CI an unavailable cluster throws, naming global-setup's reason, so the caller fails, never skips).
 */
export function pgAdminUrl(): string | undefined {
  const url = inject('pgAdminUrl') || undefined;
  return realPartAvailable('the PostgreSQL tier', url ? null : (inject('pgUnavailableReason') ?? 'no cluster')) ? url : undefined;
}

/** Creates database `name` (a safe identifier) on the run's cluster. */
export async function createTestDatabase(name: string): Promise<TestDatabase> {
  const adminUrl = pgAdminUrl();
  if (!adminUrl) throw new Error(`PostgreSQL unavailable: ${inject('pgUnavailableReason')}`);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a safe database name: ${name}`);
  const { default: postgres } = await import('postgres');
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  return {
    name,
    url: adminUrl.replace(/\/postgres$/, `/${name}`),
    backends: async () =>
      (await admin.unsafe<Array<{ pid: number }>>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY pid`, [name])).map(
        (r) => r.pid,
      ),
    terminate: async (pid) => {
      await admin.unsafe(`SELECT pg_terminate_backend($1)`, [pid]);
    },
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}
