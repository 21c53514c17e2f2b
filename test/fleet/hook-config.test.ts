/**
 * `mosaic-top hooks install` merging (pure) and the event ⇒ beat mapping, then the real program
 * on configurations that already hold the operator's hooks: kept, idempotent, --dry-run writes
 * nothing, status, and `heartbeat-hook` writing beats from real-shaped payloads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CLAUDE_HOOK_EVENTS,
  CODEX_HOOK_EVENTS,
  HOOK_COMMAND_MARK,
  HookConfigError,
  hookCommand,
  mergeClaudeStyleHooks,
  mergeOwnedFile,
  opencodePluginText,
  piExtensionText,
  upsertCodexTrust,
  wiredEvents,
} from '../../fleet/hook-config.js';
import { beatFromHookEvent } from '../../fleet/hook-events.js';
import { runBin, BIN } from '../helpers/bin.js';
import { readJson, readJsonFile, type HooksFile } from '../helpers/json.js';

const target = { node: '/usr/bin/node', bin: '/opt/mosaic top/bin/mosaic-top', mosaicHome: '/home/op/.config/mosaic' };
const command = hookCommand('claude', target);

const OPERATOR = {
  model: 'opus',
  permissions: { allow: ['Bash(npm test)'] },
  hooks: {
    Stop: [{ hooks: [{ type: 'command', command: '/home/op/bin/notify-done' }] }],
    PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: '/home/op/bin/guard' }] }],
  },
};

describe('hook config merge (pure)', () => {
  it('the hook command uses absolute, quoted paths, is time-bounded by the entry and never fails', () => {
    expect(command).toBe(`/usr/bin/node '/opt/mosaic top/bin/mosaic-top' ${HOOK_COMMAND_MARK} claude --mosaic-home /home/op/.config/mosaic || true`);
  });

  it('adds every Claude event to a new file, with the timeout and the permission_prompt matcher', () => {
    const r = mergeClaudeStyleHooks(null, CLAUDE_HOOK_EVENTS, command, 'settings.json');
    expect(r.changed).toBe(true);
    const json = readJson<HooksFile>(r.text);
    expect(Object.keys(json.hooks).sort()).toEqual([
      'Notification',
      'PermissionRequest',
      'PostToolUse',
      'SessionStart',
      'Stop',
      'StopFailure',
      'UserPromptSubmit',
    ]);
    expect(json.hooks.Notification).toEqual([{ matcher: 'permission_prompt', hooks: [{ type: 'command', command, timeout: 5 }] }]);
    expect(json.hooks.Stop?.[0]?.hooks[0]).toEqual({ type: 'command', command, timeout: 5 });
    expect(wiredEvents(r.text, CLAUDE_HOOK_EVENTS)).toHaveLength(CLAUDE_HOOK_EVENTS.length);
  });

  it("keeps the operator's hooks and settings, and a second run changes nothing", () => {
    const existing = JSON.stringify(OPERATOR, null, 4);
    const first = mergeClaudeStyleHooks(existing, CLAUDE_HOOK_EVENTS, command, 'settings.json');
    const json = readJson<HooksFile>(first.text);
    expect(json.model).toBe('opus');
    expect(json.permissions).toEqual(OPERATOR.permissions);
    expect(json.hooks.Stop?.[0]).toEqual(OPERATOR.hooks.Stop[0]);
    expect(json.hooks.Stop).toHaveLength(2);
    expect(json.hooks.PreToolUse).toEqual(OPERATOR.hooks.PreToolUse);
    const second = mergeClaudeStyleHooks(first.text, CLAUDE_HOOK_EVENTS, command, 'settings.json');
    expect(second.changed).toBe(false);
    expect(second.changes).toEqual([]);
    expect(second.text).toBe(first.text);
  });

  it('replaces an entry of an older install (other paths) instead of doubling it, and keeps hooks sharing its group', () => {
    const old = hookCommand('claude', { ...target, bin: '/old/bin/mosaic-top' });
    const existing = JSON.stringify({
      hooks: {
        Stop: [
          {
            hooks: [
              { type: 'command', command: '/home/op/bin/x' },
              { type: 'command', command: old, timeout: 5 },
            ],
          },
        ],
      },
    });
    const r = mergeClaudeStyleHooks(existing, CLAUDE_HOOK_EVENTS, command, 'settings.json');
    const stop = readJson<HooksFile>(r.text).hooks.Stop;
    expect(stop).toEqual([{ hooks: [{ type: 'command', command: '/home/op/bin/x' }] }, { hooks: [{ type: 'command', command, timeout: 5 }] }]);
    expect(r.changes).toContain('updated Stop');
    expect(JSON.stringify(JSON.parse(r.text))).not.toContain('/old/bin');
  });

  it('refuses a file that is not a JSON object, naming it', () => {
    expect(() => mergeClaudeStyleHooks('{ nope', CLAUDE_HOOK_EVENTS, command, '/w/.claude/settings.json')).toThrow(HookConfigError);
    expect(() => mergeClaudeStyleHooks('{ nope', CLAUDE_HOOK_EVENTS, command, '/w/.claude/settings.json')).toThrow(
      /\/w\/\.claude\/settings\.json: not valid JSON/,
    );
    expect(() => mergeClaudeStyleHooks('{"hooks":{"Stop":{}}}', CLAUDE_HOOK_EVENTS, command, 'f')).toThrow(/hooks\.Stop is not a list/);
  });

  it('Codex hooks.json gets its events under the top-level "hooks" key', () => {
    const r = mergeClaudeStyleHooks(null, CODEX_HOOK_EVENTS, hookCommand('codex', target), 'hooks.json');
    expect(Object.keys(readJson<HooksFile>(r.text))).toEqual(['hooks']);
    expect(Object.keys(readJson<HooksFile>(r.text).hooks)).toEqual(CODEX_HOOK_EVENTS.map((e) => e.event));
  });

  it('plugin files are ours whole: created, unchanged, updated; a foreign file is refused', () => {
    const text = opencodePluginText(target);
    expect(text).toContain('\'--runtime\', "opencode"');
    expect(mergeOwnedFile(null, text, 'p.js').changes).toEqual(['created']);
    expect(mergeOwnedFile(text, text, 'p.js').changed).toBe(false);
    expect(mergeOwnedFile(opencodePluginText({ ...target, bin: '/old' }), text, 'p.js').changes).toEqual(['updated']);
    expect(() => mergeOwnedFile('export const Mine = 1;\n', text, '/x/p.js')).toThrow(/\/x\/p\.js: exists and was not written by mosaic-top/);
    expect(piExtensionText(target)).toContain("pi.on('agent_end'");
  });
});

describe('Codex trust in config.toml (pure)', () => {
  const key = (e: string) => `/h/.codex/hooks.json:${e}:0:0`;
  it('appends missing tables, keeps the rest byte for byte, replaces a changed hash in place, then is unchanged', () => {
    const mine = '# my config\nmodel = "o3"\n\n[projects."/w"]\ntrust_level = "trusted"\n';
    const first = upsertCodexTrust(mine, [
      { key: key('stop'), hash: 'sha256:aa' },
      { key: key('session_start'), hash: 'sha256:bb' },
    ]);
    expect(first.changes).toEqual(['trusted stop', 'trusted session_start']);
    expect(first.text.startsWith(mine)).toBe(true);
    expect(first.text).toContain(`[hooks.state."${key('stop')}"]\ntrusted_hash = "sha256:aa"\n`);
    expect(upsertCodexTrust(first.text, [{ key: key('stop'), hash: 'sha256:aa' }]).changed).toBe(false);
    const moved = upsertCodexTrust(first.text, [{ key: key('stop'), hash: 'sha256:cc' }]);
    expect(moved.changes).toEqual(['re-trusted stop']);
    expect(moved.text).toBe(first.text.replace('sha256:aa', 'sha256:cc'));
    expect(upsertCodexTrust(null, [{ key: key('stop'), hash: 'sha256:aa' }]).text).toBe(`[hooks.state."${key('stop')}"]\ntrusted_hash = "sha256:aa"\n`);
  });
});

describe('hook events ⇒ beats', () => {
  it('Claude: start/turns/permission/notification/failures', () => {
    expect(beatFromHookEvent('claude', { hook_event_name: 'SessionStart', source: 'startup' })?.state).toBe('idle');
    expect(beatFromHookEvent('claude', { hook_event_name: 'UserPromptSubmit', prompt: 'x' })?.state).toBe('busy');
    expect(beatFromHookEvent('claude', { hook_event_name: 'PostToolUse' })?.state).toBe('busy');
    expect(beatFromHookEvent('claude', { hook_event_name: 'Stop' })?.state).toBe('idle');
    expect(beatFromHookEvent('claude', { hook_event_name: 'PreToolUse', tool_name: 'Bash' })).toBeNull();
    expect(
      beatFromHookEvent('claude', { hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'echo hi > proto.txt' } }),
    ).toMatchObject({
      state: 'waiting',
      reason: 'permission: Bash echo hi > proto.txt',
    });
    expect(
      beatFromHookEvent('claude', { hook_event_name: 'PermissionRequest', tool_name: 'Write', tool_input: { file_path: '/w/a.txt', content: 'x' } })?.reason,
    ).toBe('permission: Write /w/a.txt');
    expect(
      beatFromHookEvent('claude', { hook_event_name: 'Notification', notification_type: 'permission_prompt', message: 'Claude needs your permission' }),
    ).toMatchObject({ state: 'waiting', keepWaitingReason: true });
    expect(beatFromHookEvent('claude', { hook_event_name: 'Notification', notification_type: 'idle_prompt' })).toBeNull();
    expect(
      beatFromHookEvent('claude', { hook_event_name: 'StopFailure', error: 'rate_limit', last_assistant_message: 'API Error: Request rejected (429)' }),
    ).toMatchObject({ state: 'stuck', reason: 'rate limited (429)' });
    expect(beatFromHookEvent('claude', { hook_event_name: 'StopFailure', error: 'authentication_failed' })?.reason).toBe('credentials rejected');
    expect(beatFromHookEvent('claude', { hook_event_name: 'StopFailure', error: 'server_error', last_assistant_message: 'API Error: 500' })?.reason).toBe(
      'server error',
    );
    expect(beatFromHookEvent('claude', 'not an object')).toBeNull();
  });

  it('Codex hooks and notify; opencode; pi', () => {
    expect(beatFromHookEvent('codex', { hook_event_name: 'PreToolUse' })?.state).toBe('busy');
    expect(beatFromHookEvent('codex', { hook_event_name: 'PermissionRequest', tool_name: 'exec_command', tool_input: { cmd: 'echo hi' } })?.reason).toBe(
      'permission: exec_command echo hi',
    );
    expect(beatFromHookEvent('codex', { type: 'agent-turn-complete', 'turn-id': '1' })?.state).toBe('idle');
    expect(beatFromHookEvent('opencode', { type: 'session.status', properties: { sessionID: 's', status: { type: 'busy' } } })?.state).toBe('busy');
    expect(beatFromHookEvent('opencode', { type: 'session.status', properties: { status: { type: 'idle' } } })?.state).toBe('idle');
    expect(beatFromHookEvent('opencode', { type: 'permission.asked', properties: { permission: 'bash', patterns: ['echo hi > proto.txt'] } })?.reason).toBe(
      'permission: bash echo hi > proto.txt',
    );
    expect(
      beatFromHookEvent('opencode', {
        type: 'session.error',
        properties: { error: { name: 'APIError', data: { message: 'Too Many Requests', statusCode: 429 } } },
      })?.reason,
    ).toBe('rate limited (429)');
    expect(
      beatFromHookEvent('opencode', { type: 'session.error', properties: { error: { name: 'APIError', data: { message: 'bad key', statusCode: 401 } } } })
        ?.reason,
    ).toBe('credentials rejected');
    expect(beatFromHookEvent('pi', { type: 'agent_start' })?.state).toBe('busy');
    expect(beatFromHookEvent('pi', { type: 'agent_end', error: null })?.state).toBe('idle');
    expect(beatFromHookEvent('pi', { type: 'agent_end', error: '429 Rate limited' })).toMatchObject({ state: 'stuck', reason: 'rate limited (429)' });
  });
});

describe('mosaic-top hooks install / status / heartbeat-hook (real program)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let settings: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hooks-'));
    const home = path.join(dir, 'mosaic');
    fs.mkdirSync(path.join(home, 'fleet'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'work', '.claude'), { recursive: true });
    fs.writeFileSync(
      path.join(home, 'fleet', 'roster.yaml'),
      `version: 1\nagents:\n  - name: cc1\n    runtime: claude\n    working_directory: ${path.join(dir, 'work')}\n  - name: cc2\n    runtime: claude\n    working_directory: ${path.join(dir, 'work')}\n  - name: cx1\n    runtime: codex\n  - name: sim\n    runtime: sim-agent\n`,
    );
    settings = path.join(dir, 'work', '.claude', 'settings.json');
    fs.writeFileSync(settings, JSON.stringify(OPERATOR, null, 2));
    const { MOSAIC_AGENT_NAME: _a, TMUX: _t, TMUX_PANE: _p, ...rest } = process.env;
    env = { ...rest, HOME: path.join(dir, 'userhome'), MOSAIC_HOME: home };
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run writes nothing; install keeps the operator hooks; a second run says unchanged; status says wired', async () => {
    const before = fs.readFileSync(settings, 'utf8');
    const dry = await runBin(['hooks', 'install', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`cc1,cc2 (claude): ${settings}: (dry run) would write: added SessionStart`);
    expect(dry.stdout).toContain('sim: skipped: runtime "sim-agent"');
    expect(dry.stdout).toMatch(/dry run: 2 file\(s\) would change, 0 already wired; nothing written/);
    expect(fs.readFileSync(settings, 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(dir, 'userhome', '.codex', 'hooks.json'))).toBe(false);

    const first = await runBin(['hooks', 'install', '--no-codex-trust'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/2 file\(s\) changed, 0 already wired/);
    expect(first.stdout).toContain('codex trust: Codex will show "Hooks need review" once for these hooks');
    const json = readJsonFile<HooksFile>(settings);
    expect(json.hooks.Stop?.[0]).toEqual(OPERATOR.hooks.Stop[0]);
    expect(json.hooks.PreToolUse).toEqual(OPERATOR.hooks.PreToolUse);
    expect(json.hooks.Stop?.[1]?.hooks[0]?.command).toBe(
      `${process.execPath} ${fs.realpathSync(BIN)} ${HOOK_COMMAND_MARK} claude --mosaic-home ${env.MOSAIC_HOME} || true`,
    );
    // The statusLine is opt-in (--statusline): not added.
    expect(readJsonFile<{ statusLine?: unknown }>(settings).statusLine).toBeUndefined();
    const codex = readJsonFile<HooksFile>(path.join(dir, 'userhome', '.codex', 'hooks.json'));
    expect(Object.keys(codex.hooks)).toContain('PermissionRequest');

    const written = fs.readFileSync(settings, 'utf8');
    const second = await runBin(['hooks', 'install', 'cc1'], env);
    expect(second.stdout).toContain(`cc1 (claude): ${settings}: unchanged (already wired)`);
    expect(second.stdout).toMatch(/0 file\(s\) changed, 1 already wired/);
    expect(fs.readFileSync(settings, 'utf8')).toBe(written);

    const status = await runBin(['hooks', 'status'], env);
    expect(status.stdout).toContain(`cc1,cc2 (claude): wired: ${settings} (7 events; no statusLine: hooks install --statusline records subscription windows)`);
    expect(status.stdout).toContain('cx1 (codex): wired:');
    expect(status.stdout).toContain('6 events; 0/6 trusted in config.toml: Codex will ask to review them');
  });

  it('without a working directory, `hooks install cc1` writes $HOME/.claude/settings.json', async () => {
    fs.writeFileSync(path.join(env.MOSAIC_HOME!, 'fleet', 'roster.yaml'), 'agents:\n  - name: cc1\n    runtime: claude\n');
    const r = await runBin(['hooks', 'install', 'cc1'], env);
    expect(r.code).toBe(0);
    const file = path.join(dir, 'userhome', '.claude', 'settings.json');
    expect(r.stdout).toContain(`cc1 (claude): ${file}: added`);
    expect(Object.keys(readJsonFile<HooksFile>(file).hooks)).toHaveLength(CLAUDE_HOOK_EVENTS.length);
  });

  it('a broken settings file is reported with its path and left alone; an unknown agent is a usage error', async () => {
    fs.writeFileSync(settings, '{ broken');
    const r = await runBin(['hooks', 'install', 'cc1'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${settings}: not valid JSON`);
    expect(fs.readFileSync(settings, 'utf8')).toBe('{ broken');
    const u = await runBin(['hooks', 'install', 'nobody'], env);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('agent "nobody" is not in the roster');
  });

  it('heartbeat-hook writes waiting with the command, keeps it on the later Notification, stuck on StopFailure; bad input exits 0', async () => {
    const hb = path.join(env.MOSAIC_HOME!, 'fleet', 'run', 'cc1.hb');
    const hook = (payload: unknown, extra: NodeJS.ProcessEnv = { MOSAIC_AGENT_NAME: 'cc1' }) =>
      runBin(['heartbeat-hook', '--runtime', 'claude', '--mosaic-home', env.MOSAIC_HOME!, JSON.stringify(payload)], { ...env, ...extra });
    await hook({ hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'echo hi > proto.txt' } });
    expect(fs.readFileSync(hb, 'utf8')).toMatch(/state=waiting\n[\s\S]*reason=permission: Bash echo hi > proto\.txt/);
    await hook({ hook_event_name: 'Notification', notification_type: 'permission_prompt', message: 'Claude needs your permission' });
    expect(fs.readFileSync(hb, 'utf8')).toContain('reason=permission: Bash echo hi > proto.txt');
    await hook({ hook_event_name: 'StopFailure', error: 'rate_limit', last_assistant_message: 'API Error: Request rejected (429)' });
    expect(fs.readFileSync(hb, 'utf8')).toMatch(/state=stuck\n[\s\S]*reason=rate limited \(429\)/);
    const bad = await runBin(['heartbeat-hook', '--runtime', 'claude', 'not json'], { ...env, MOSAIC_AGENT_NAME: 'cc1' });
    expect(bad.code).toBe(0);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('hook input is not JSON');
    const noName = await hook({ hook_event_name: 'Stop' }, {});
    expect(noName.code).toBe(0);
    expect(noName.stderr).toContain('no agent name');
  });
});
