/**
 * Which code a backlog server runs, compared with this client's: a server outlives upgrades,
 * so its hello names its version, package root and start time.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packageRoot, packageVersion } from '../../lib/version.js';
import type { BacklogHello } from '../protocol.js';

/** What this client compares a server's hello with (see {@link staleServerWarning}). */
export interface CodeIdentity {
  /** mosaic-top version of this process. */
  version: string;
  /** Package root this process runs from. */
  root: string;
  /** Unix ms of the last change to the server code on disk (its module file's mtime); null when unknown. */
  codeChangedAtMs: number | null;
}

let cachedIdentity: CodeIdentity | null = null;

/** This process's {@link CodeIdentity} (computed once: a version, a root, one stat of the server module backlog/server.js). */
export function ourIdentity(): CodeIdentity {
  if (cachedIdentity) return cachedIdentity;
  let codeChangedAtMs: number | null;
  try {
    codeChangedAtMs = fs.statSync(fileURLToPath(new URL('../server.js', import.meta.url))).mtimeMs;
  } catch {
    codeChangedAtMs = null; // running from sources (tests): no compiled server module beside us
  }
  cachedIdentity = { version: packageVersion(), root: packageRoot(), codeChangedAtMs };
  return cachedIdentity;
}

/**
 * Why an embedded backlog server runs older code than this client, or null. A server outlives
 * upgrades (a console keeps it from idling out), so after `npm update` or a rebuild it can keep
 * serving the old code. Stale when the server reports no version (it predates the check), a
 * different version, or — same package root — was started before its module file last
 * changed on disk. The text names the server's pid and the fix (`mosaic-top backlog stop`;
 * the next backlog command starts a server on this code).
 * Pure. Strings from the hello are not sanitized here: callers sanitize for the terminal.
 */
export function staleServerWarning(hello: BacklogHello, ours: CodeIdentity): string | null {
  // Short, fix first: the console's header line is 80 columns at worst.
  const fix = `(pid ${hello.pid}): run \`mosaic-top backlog stop\``;
  if (hello.version === undefined) return `backlog server is older than ${ours.version} ${fix}`;
  if (hello.version !== ours.version) return `backlog server is ${hello.version}, not ${ours.version} ${fix}`;
  if (hello.root === ours.root && hello.startedAtMs !== undefined && ours.codeChangedAtMs !== null && ours.codeChangedAtMs > hello.startedAtMs) {
    const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    return `backlog server predates this build ${fix} (started ${at(hello.startedAtMs)}, code changed ${at(ours.codeChangedAtMs)})`;
  }
  return null;
}
