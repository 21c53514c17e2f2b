/**
 * Administration of the embedded backlog server without starting it: ping it, prove who holds
 * the data dir's lock, and stop it (`backlog stop`, `demo down`) — only once it is proven ours.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { delay } from '../../lib/delay.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { isHolderAlive, lockPathFor, lockProof, readDataDirLock, type DataDirLockHolder } from '../lock.js';
import type { PingReply, ProveReply } from '../protocol.js';
import { BacklogError } from '../types.js';
import { BacklogConnection, tryConnect } from './socket.js';

/** Outcome of {@link proveHolder}. */
export type HolderProof = 'proven' | 'refuted' | 'no-answer';

/**
 * Asks the process on the lock's socket to prove the lock's token (protocol `prove`, a fresh
 * random nonce): `proven` when the hello names the lock's pid and the proof matches; `refuted`
 * when something else answers (another pid, a wrong proof, no token in the lock); `no-answer`
 * when nothing answers within `timeoutMs` (ms; a stopped or hung server, or no socket).
 */
export async function proveHolder(holder: DataDirLockHolder, socketPath: string, timeoutMs = 2000): Promise<HolderProof> {
  if (!holder.token) return 'refuted';
  const connected = await tryConnect(holder.socket ?? socketPath, timeoutMs);
  if (!connected.ok) return 'no-answer';
  if (connected.hello.pid !== holder.pid) {
    connected.socket.destroy();
    return 'refuted';
  }
  const client = new BacklogConnection(connected.socket, connected.hello, '', timeoutMs, undefined, holder.socket ?? socketPath);
  const nonce = randomBytes(16).toString('hex');
  try {
    const reply = await client.call<ProveReply>('prove', { nonce });
    return reply.pid === holder.pid && reply.proof === lockProof(holder.token, nonce) ? 'proven' : 'refuted';
  } catch (error) {
    return error instanceof BacklogError && error.code === 'timeout' ? 'no-answer' : 'refuted';
  } finally {
    await client.close();
  }
}

/** True when `/proc/<pid>/cmdline` is a `… backlog serve …` of mosaic-top run by this user (a server too stopped to prove its token). */
function looksLikeOurServer(pid: number): boolean {
  try {
    const st = fs.statSync(`/proc/${pid}`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('backlog');
    return i > 0 && argv[i + 1] === 'serve' && argv.some((a) => a.endsWith('mosaic-top'));
  } catch {
    return false;
  }
}

/** Why the live lock holder `holder` must not be signalled, or null when it is proven to be our server. */
async function stopRefusal(paths: MosaicPaths, holder: DataDirLockHolder): Promise<string | null> {
  const lockFile = lockPathFor(paths.backlogDataDir);
  if (!holder.token)
    return `the lock ${lockFile} names pid ${holder.pid} without a token: not proven to be a backlog server, not signalled (stop it yourself if it is one)`;
  const proof = await proveHolder(holder, paths.backlogSocket);
  if (proof === 'refuted') return `pid ${holder.pid} (named by ${lockFile}) did not prove the lock's token on its socket: not signalled`;
  if (proof === 'no-answer' && !looksLikeOurServer(holder.pid))
    return `pid ${holder.pid} (named by ${lockFile}) does not answer on its socket and is not a mosaic-top backlog server of this user: not signalled`;
  return null;
}

/**
 * Stops the embedded backlog server of `paths`' data dir gracefully: SIGTERM (and SIGCONT, in
 * case it was stopped) to the lock holder — ONLY when it is proven to be our server: its lock
 * names pid + start time + token, that pid still has that start time, and it proves the token on
 * its socket ({@link proveHolder}); a server too stopped or hung to answer must at least be a
 * `mosaic-top … backlog serve` of this user with the recorded start time. Then waits up to
 * `timeoutMs` (ms) for it to exit (it finishes the command in progress, closes PGlite, removes
 * its socket and lock). `pid` is null when none was running (no lock, or a dead holder's);
 * `refused` says why a live pid was not signalled. Never throws. Used by `backlog stop` and `demo down`.
 */
export async function stopEmbeddedServer(paths: MosaicPaths, timeoutMs = 10_000): Promise<{ pid: number | null; stopped: boolean; refused?: string }> {
  const holder = readDataDirLock(paths.backlogDataDir);
  if (!holder || !isHolderAlive(holder)) return { pid: null, stopped: false };
  const refused = await stopRefusal(paths, holder);
  if (refused) return { pid: holder.pid, stopped: false, refused };
  try {
    process.kill(holder.pid, 'SIGTERM');
    // A SIGSTOPped server would hold SIGTERM pending forever.
    process.kill(holder.pid, 'SIGCONT');
  } catch {
    return { pid: holder.pid, stopped: !isHolderAlive(holder) };
  }
  const deadline = Date.now() + timeoutMs;
  while (isHolderAlive(holder) && Date.now() < deadline) await delay(50);
  return { pid: holder.pid, stopped: !isHolderAlive(holder) };
}

/** Pings the embedded server without starting it: its pid and data dir, or null when none answers (within `timeoutMs`, ms). */
export async function pingBacklogServer(paths: MosaicPaths, timeoutMs = 2000): Promise<PingReply | null> {
  const connected = await tryConnect(paths.backlogSocket);
  if (!connected.ok) return null;
  const client = new BacklogConnection(connected.socket, connected.hello, paths.backlogDataDir, timeoutMs, undefined, paths.backlogSocket);
  try {
    return await client.call<PingReply>('ping');
  } catch {
    return null;
  } finally {
    await client.close();
  }
}
