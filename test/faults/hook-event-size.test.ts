/**
 * Faults: a hook event over the 1 MB read limit (a `Write` of a large file). It used to be
 * dropped whole ("not JSON"), so the beat kept saying `waiting` after the tool ran. Now the
 * event is read from its first megabyte: the real `heartbeat-hook` moves the beat on. Needs a
 * build.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeHeartbeat, readHeartbeat } from '../../fleet/heartbeat.js';
import { beatFromHookEventPrefix } from '../../fleet/hook-events.js';
import { parseJsonPrefix } from '../../lib/json-prefix.js';
import { BIN } from '../helpers/bin.js';
import { freshHome } from './harness.js';
import { readJson } from '../helpers/json.js';

/** Runs `heartbeat-hook --runtime claude --agent <agent>` with `input` on stdin; resolves with its exit code and stderr. */
function runHook(env: NodeJS.ProcessEnv, agent: string, input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'heartbeat-hook', '--runtime', 'claude', '--agent', agent], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** A Claude hook payload in Claude's own key order, with a `Write` of `bytes` bytes. */
function writeEvent(event: string, bytes: number): string {
  return JSON.stringify({
    session_id: 's1',
    transcript_path: '/tmp/none.jsonl',
    cwd: '/tmp',
    permission_mode: 'default',
    hook_event_name: event,
    tool_name: 'Write',
    tool_input: { file_path: '/tmp/big.txt', content: 'x'.repeat(bytes) },
    tool_response: { type: 'create', filePath: '/tmp/big.txt' },
  });
}

describe('faults: a hook event over 1 MB', () => {
  const homes: string[] = [];
  afterEach(() => {
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });
  const setup = () => {
    const { home, env } = freshHome('mt-fault-hook-');
    homes.push(home);
    const runDir = path.join(home, 'fleet', 'run');
    fs.mkdirSync(runDir, { recursive: true });
    writeHeartbeat(runDir, 'w1', { state: 'waiting', reason: 'permission: Write /tmp/big.txt', interval: 600 });
    return { runDir, env: { ...env, MOSAIC_HOME: home, MOSAIC_AGENT_NAME: '' } };
  };

  it('a 2 MB PostToolUse of Write moves a waiting beat to busy, saying the event was read in part', async () => {
    const { runDir, env } = setup();
    const r = await runHook(env, 'w1', writeEvent('PostToolUse', 2 * 1024 * 1024));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const hb = readHeartbeat(runDir, 'w1', Date.now() / 1000).heartbeat;
    expect(hb?.state).toBe('busy');
    expect(hb?.note).toMatch(/hook event too large \(\d+ KB\): read from its first bytes/);
  });

  it('a 2 MB PermissionRequest of Write says what it waits for (file path before the content)', async () => {
    const { runDir, env } = setup();
    writeHeartbeat(runDir, 'w1', { state: 'busy', interval: 600 });
    const r = await runHook(env, 'w1', writeEvent('PermissionRequest', 2 * 1024 * 1024));
    expect(r.code).toBe(0);
    const hb = readHeartbeat(runDir, 'w1', Date.now() / 1000).heartbeat;
    expect(hb?.state).toBe('waiting');
    expect(hb?.reason).toBe('permission: Write /tmp/big.txt');
  });

  it('an oversize event whose first megabyte names no event still moves the beat on (busy, with the reason)', () => {
    const prefix = `{"blob":"${'y'.repeat(1024 * 1024)}`;
    const { beat } = beatFromHookEventPrefix('claude', prefix, 3 * 1024 * 1024);
    expect(beat?.state).toBe('busy');
    expect(beat?.note).toMatch(/too large \(3072 KB\) and no event name/);
  });

  it('parseJsonPrefix keeps the complete members, drops the cut one, refuses non-JSON and deep nesting', () => {
    expect(parseJsonPrefix('{"a":1,"b":{"c":"d","e":"ff')).toEqual({ value: { a: 1, b: { c: 'd' } }, complete: false });
    expect(parseJsonPrefix('[1, 2, 3')).toEqual({ value: [1, 2], complete: false });
    expect(parseJsonPrefix(' {"a":[true,null],"__proto__":2} ')).toEqual({ value: readJson<unknown>('{"a":[true,null],"__proto__":2}'), complete: true });
    expect(parseJsonPrefix('{"a":1}x')).toBeNull();
    expect(parseJsonPrefix('not json')).toBeNull();
    expect(parseJsonPrefix('['.repeat(5000))).toBeNull();
    expect(parseJsonPrefix('"abc')).toEqual({ value: undefined, complete: false });
  });
});
