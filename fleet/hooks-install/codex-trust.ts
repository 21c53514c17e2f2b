/**
 * Codex's trust for our hooks: Codex shows "Hooks need review" for hooks whose hash its
 * config.toml does not hold. We ask Codex itself for the hashes (`codex app-server`, JSON-RPC
 * `hooks/list`) and write them into `<CODEX_HOME>/config.toml` (docs/heartbeat.md).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HOOK_COMMAND_MARK, upsertCodexTrust, type CodexTrustEntry } from '../hook-config.js';
import { messageOf } from '../../lib/errors.js';
import { endGroup, spawnInGroup } from '../../lib/process-group.js';
import { readHookConfig, writeFileAtomic } from './files.js';

/** The codex program to ask for hook hashes: `$MOSAIC_CODEX_BIN`, else `codex` on PATH; null when none. */
export function findCodexBin(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.MOSAIC_CODEX_BIN) return env.MOSAIC_CODEX_BIN;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, 'codex');
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** One hook as `hooks/list` lists it (untrusted: every field checked before use). */
type ListedHook = { key?: unknown; currentHash?: unknown; sourcePath?: unknown; command?: unknown };

/**
 * The trust entries of our hooks in Codex's `hooks/list` result `data` (`[{ hooks: [...] }]`):
 * every listed hook whose source is `hooksFile` and whose command is ours
 * ({@link HOOK_COMMAND_MARK}), one per key. Pure; empty when none.
 */
export function ourListedHooks(data: unknown, hooksFile: string): CodexTrustEntry[] {
  const groups: unknown[] = Array.isArray(data) ? (data as unknown[]) : [];
  const hooks = groups.flatMap((d) => {
    const h = (d as { hooks?: unknown } | null)?.hooks;
    return Array.isArray(h) ? (h as (ListedHook | null)[]) : [];
  });
  const unique = new Map<string, string>();
  for (const h of hooks) {
    if (typeof h?.key !== 'string' || typeof h.currentHash !== 'string') continue;
    if (h.sourcePath !== hooksFile || typeof h.command !== 'string' || !h.command.includes(HOOK_COMMAND_MARK)) continue;
    unique.set(h.key, h.currentHash);
  }
  return [...unique].map(([key, hash]) => ({ key, hash }));
}

/** The last line of a child's stderr as `: <line>` for an error message, or nothing. */
function stderrTail(stderr: string): string {
  return stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : '';
}

/**
 * Asks Codex itself for the trust hashes of our hooks in `hooksFile`: runs `<codex> app-server`
 * with `CODEX_HOME=<codexHome>` and does its JSON-RPC handshake (`initialize`, `initialized`,
 * `hooks/list`), bounded by `timeoutMs` (default 15 000); then its whole process group is
 * killed and its pipes released (lib/process-group.ts). Returns the
 * `key`/`currentHash` of every listed hook whose source is `hooksFile` and whose command is ours.
 * Throws with the cause (spawn failure, timeout, no such hooks listed).
 */
export function codexHookHashes(codexBin: string, codexHome: string, hooksFile: string, timeoutMs = 15_000): Promise<CodexTrustEntry[]> {
  return new Promise((resolve, reject) => {
    // Its own process group: the bound ends codex and whatever it started (a child left
    // holding the pipes kept this command waiting 12 minutes).
    const child = spawnInGroup(codexBin, ['app-server'], {
      env: { ...process.env, CODEX_HOME: codexHome },
      cwd: codexHome,
      stdio: ['pipe', 'pipe', 'pipe'],
    }) as ChildProcessWithoutNullStreams;
    let buf = '';
    let stderr = '';
    let done = false;
    const finish = (error: Error | null, entries: CodexTrustEntry[] = []) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // The whole group, and our ends of the pipes: nothing waits on what a member still holds.
      endGroup(child);
      if (error) reject(error);
      else resolve(entries);
    };
    const timer = setTimeout(() => finish(new Error(`codex app-server gave no hooks/list answer within ${timeoutMs} ms${stderrTail(stderr)}`)), timeoutMs);
    const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
    /** One JSON-RPC message from codex: the `initialize` answer starts `hooks/list`; its answer ends the exchange. */
    const onMessage = (message: { id?: unknown; error?: unknown; result?: { data?: unknown } } | null) => {
      if (message?.id === 1) {
        send({ jsonrpc: '2.0', method: 'initialized', params: {} });
        send({ jsonrpc: '2.0', id: 2, method: 'hooks/list', params: { cwds: [codexHome] } });
      } else if (message?.id === 2) {
        if (message.error) return finish(new Error(`codex hooks/list: ${JSON.stringify(message.error).slice(0, 200)}`));
        const entries = ourListedHooks(message.result?.data, hooksFile);
        if (!entries.length) return finish(new Error(`codex lists none of our hooks from ${hooksFile}`));
        finish(null, entries);
      }
    };
    child.on('error', (error) => finish(new Error(`cannot run ${codexBin} app-server: ${error.message}`)));
    child.on('exit', (code) => finish(new Error(`codex app-server exited (${code}) before answering${stderrTail(stderr)}`)));
    child.stdin.on('error', () => {});
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-2000);
    });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while (!done && (nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        let message: Parameters<typeof onMessage>[0];
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          continue;
        }
        onMessage(message);
      }
    });
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { clientInfo: { name: 'mosaic-top', version: '1' } } });
  });
}

/** Result of trusting one Codex hooks.json. */
export interface CodexTrustResult {
  configFile: string;
  changes: string[];
  error: string | null;
}

/**
 * Writes Codex's trust for our hooks in `hooksFile` into `<codexHome>/config.toml` (atomically),
 * with the hashes Codex itself computes (see {@link codexHookHashes}), so Codex starts without
 * its "Hooks need review" screen. Never throws: the cause is in `error`.
 */
export async function trustCodexHooks(codexBin: string, hooksFile: string): Promise<CodexTrustResult> {
  const codexHome = path.dirname(hooksFile);
  const configFile = path.join(codexHome, 'config.toml');
  try {
    const entries = await codexHookHashes(codexBin, codexHome, hooksFile);
    const merged = upsertCodexTrust(readHookConfig(configFile), entries);
    if (merged.changed) writeFileAtomic(configFile, merged.text);
    return { configFile, changes: merged.changes, error: null };
  } catch (error) {
    return { configFile, changes: [], error: messageOf(error) };
  }
}
