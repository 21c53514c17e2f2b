/**
 * Whether the embedded store exists: a file test with no dependency, so a snapshot (`--once`,
 * the console's backlog section) asks it without loading the backlog server's module.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * True when the PGlite data dir holds a database (its `PG_VERSION`): the lock file inside it
 * alone is not a store yet. Never throws (a dir that cannot be read counts as no store).
 */
export function dataDirExists(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, 'PG_VERSION'));
}
