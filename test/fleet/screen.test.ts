import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyScreen, promptId, shippedScreenRules } from '../../fleet/screen.js';
import { parseScreenRulesYaml, ScreenRulesCache, screenRulesOverridePath } from '../../fleet/screen-rules-file.js';
import { SHIPPED_SCREEN_RULES } from '../../fleet/screen-rules.js';
import { CLAUDE_IDLE_BOX, CLAUDE_RATE_LIMITED, claudePermissionScreen } from '../../src/demo/sim-agent.js';

/** Screens captured from the real runtimes (capture-pane -p, 120×40) with the test bed's model endpoint. */
const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'screens');
const screen = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.txt`), 'utf8');

describe("classifyScreen on the real runtimes' screens (shared/spec/runtimes.md)", () => {
  it('Claude Code 2.1.197: idle, busy, queued, after a turn, after Esc', () => {
    expect(classifyScreen('claude', '2.1.197', screen('claude-idle'))).toEqual({
      state: 'idle',
      rules: 'claude@>=2.0.0 <2.1.198',
      inputText: '',
      version: '2.1.197',
    });
    expect(classifyScreen('claude', null, screen('claude-busy'))).toMatchObject({ state: 'busy', inputText: '' });
    // `❯ Press up to edit queued messages` in the input box is the runtime's, not typed text.
    expect(classifyScreen('claude', null, screen('claude-queued'))).toMatchObject({ state: 'queued', inputText: '' });
    // The transcript echoes submitted messages with `❯` (`❯ second message`): that is not the input box.
    expect(screen('claude-after-turn')).toMatch(/^❯ second message$/m);
    // Without a version the runtime's newest rules read it (they read 2.1.197's screens too).
    expect(classifyScreen('claude', null, screen('claude-after-turn'))).toEqual({ state: 'idle', rules: 'claude@>=2.1.198', inputText: '' });
    expect(classifyScreen('claude', null, screen('claude-after-esc')).state).toBe('idle');
  });

  it('Claude Code: the Bash permission prompt ⇒ waiting with tool, command, block and a stable id', () => {
    const r = classifyScreen('claude', null, screen('claude-permission'));
    expect(r.state).toBe('waiting');
    expect(r.prompt).toMatchObject({ kind: 'permission', tool: 'Bash', detail: 'echo hi > proto.txt' });
    expect(r.prompt!.block.split('\n')[0]).toBe(' Bash command');
    expect(r.prompt!.block).toMatch(/Do you want to proceed\?[\s\S]*Esc to cancel/);
    expect(r.prompt!.id).toMatch(/^[0-9a-f]{16}$/);
    expect(r.prompt!.id).toBe(promptId('claude', 'Bash', r.prompt!.block));
    // Moving the selection (❯ on option 2) is the same prompt; another command is another prompt.
    const moved = screen('claude-permission').replace(' ❯ 1. Yes', '   1. Yes').replace('   2. Yes, and', ' ❯ 2. Yes, and');
    expect(classifyScreen('claude', null, moved).prompt!.id).toBe(r.prompt!.id);
    const other = screen('claude-permission').replace(/echo hi > proto\.txt/g, 'rm -rf build');
    const o = classifyScreen('claude', null, other).prompt!;
    expect(o.detail).toBe('rm -rf build');
    expect(o.id).not.toBe(r.prompt!.id);
  });

  it('a prompt block with a later turn below it was answered: history, not waiting', () => {
    const answered = [
      screen('claude-permission').replace(/\s+$/, ''),
      '1',
      '✶ Working… (esc to interrupt)',
      '─'.repeat(100),
      '❯ ',
      '─'.repeat(100),
      '  esc to interrupt',
    ].join('\n');
    expect(classifyScreen('claude', null, answered).state).toBe('busy');
  });

  it('Claude Code: a Write prompt names the file', () => {
    const write = [
      '',
      '─'.repeat(100),
      ' Create file',
      ' proto.txt',
      ' ╌╌╌',
      '  1 hi',
      ' ╌╌╌',
      ' Do you want to create proto.txt?',
      ' ❯ 1. Yes',
      '   2. Yes, allow all edits during this session (shift+tab)',
      '   3. No',
      '',
      ' Esc to cancel · Tab to amend',
    ].join('\n');
    expect(classifyScreen('claude', null, write).prompt).toMatchObject({ kind: 'permission', tool: 'Write', detail: 'proto.txt' });
  });

  it('Claude Code: a turn that ended on 429 / 401 ⇒ error (rate_limit / auth); the next good turn clears it', () => {
    expect(classifyScreen('claude', null, screen('claude-error-429'))).toMatchObject({
      state: 'error',
      error: { kind: 'rate_limit', text: 'API Error: Request rejected (429) · Rate limited: too many requests (test endpoint)' },
    });
    expect(classifyScreen('claude', null, screen('claude-error-401'))).toMatchObject({
      state: 'error',
      error: { kind: 'auth', text: 'Invalid API key · Fix external API key' },
    });
    // The 429s are still on screen above, but the last turn ("auth me" ⇒ "fine again.") succeeded.
    expect(screen('claude-after-error-ok')).toMatch(/API Error: Request rejected \(429\)/);
    expect(classifyScreen('claude', null, screen('claude-after-error-ok')).state).toBe('idle');
  });

  it('Claude Code: text typed into the input box is read from the box only (multi-line too)', () => {
    const typed = screen('claude-after-turn').replace(/^❯\u00a0$/m, '❯ run the tests;\n  and then report');
    expect(classifyScreen('claude', null, typed)).toMatchObject({ state: 'idle', inputText: 'run the tests;\nand then report' });
  });

  it('Codex 0.171.0: idle, streaming looks idle (idleMayStream), permission prompt, 429', () => {
    expect(classifyScreen('codex', '0.171.0', screen('codex-idle'))).toEqual({
      state: 'idle',
      rules: 'codex@>=0.100.0',
      idleMayStream: true,
      inputText: '',
      version: '0.171.0',
    });
    expect(classifyScreen('codex', null, screen('codex-busy'))).toMatchObject({ state: 'idle', idleMayStream: true });
    expect(
      classifyScreen(
        'codex',
        null,
        screen('codex-busy').replace('› Ask Codex to do anything', '◦ Working (1s • esc to interrupt)\n\n› Ask Codex to do anything'),
      ).state,
    ).toBe('busy');
    const p = classifyScreen('codex', null, screen('codex-permission'));
    expect(p).toMatchObject({ state: 'waiting', prompt: { kind: 'permission', tool: 'shell', detail: 'echo hi > proto.txt' } });
    expect(classifyScreen('codex', null, screen('codex-error-429'))).toMatchObject({
      state: 'error',
      error: { kind: 'rate_limit', text: 'exceeded retry limit, last status: 429 Too Many Requests' },
    });
    // "Conversation interrupted" after Esc is not an error that makes the agent stuck.
    expect(classifyScreen('codex', null, screen('codex-after-esc')).state).toBe('idle');
    expect(classifyScreen('codex', null, screen('codex-after-turn').replace('› Ask Codex to do anything', '› fix the build')).inputText).toBe('fix the build');
  });

  it('opencode 1.18.33: idle, busy, permission, 401 at the prompt, 429 retried for ever', () => {
    expect(classifyScreen('opencode', null, screen('opencode-idle')).state).toBe('idle');
    expect(classifyScreen('opencode', null, screen('opencode-after-turn')).state).toBe('idle');
    expect(classifyScreen('opencode', null, screen('opencode-busy')).state).toBe('busy');
    expect(classifyScreen('opencode', null, screen('opencode-permission'))).toMatchObject({
      state: 'waiting',
      prompt: { tool: 'bash', detail: 'echo hi > proto.txt' },
    });
    expect(classifyScreen('opencode', null, screen('opencode-error-401'))).toMatchObject({
      state: 'error',
      error: { kind: 'auth', text: 'invalid x-api-key' },
    });
    expect(classifyScreen('opencode', null, screen('opencode-error-429'))).toMatchObject({ state: 'error', error: { kind: 'rate_limit' } });
  });

  it('pi 0.73.1: idle (footer), busy, steering queued, a turn that ended on 429 (the last transcript line only)', () => {
    expect(classifyScreen('pi', '0.73.1', screen('pi-idle'))).toEqual({ state: 'idle', rules: 'pi@>=0.60.0', inputText: '', version: '0.73.1' });
    expect(classifyScreen('pi', null, screen('pi-after-turn')).state).toBe('idle');
    expect(classifyScreen('pi', null, screen('pi-busy')).state).toBe('busy');
    expect(classifyScreen('pi', null, screen('pi-queued')).state).toBe('queued');
    // An earlier 429 followed by a good reply (`OK.`) is history, not the state.
    expect(screen('pi-error-429')).toMatch(/Error: 429/);
    expect(classifyScreen('pi', null, screen('pi-error-429')).state).toBe('idle');
    const text = screen('pi-error-429');
    const at = text.lastIndexOf(' OK.\n');
    const failed = `${text.slice(0, at)} Error: 429 Rate limited: too many requests (test endpoint)\n Error: Retry failed after 1 attempts: 429 Rate limited: too many requests (test endpoint)\n${text.slice(at + 5)}`;
    expect(classifyScreen('pi', null, failed)).toMatchObject({
      state: 'error',
      error: { kind: 'rate_limit', text: 'Error: Retry failed after 1 attempts: 429 Rate limited: too many requests (test endpoint)' },
    });
  });

  it("the demo's sim screens read as the real ones", () => {
    const prompt = ['❯ tidy the workspace', '', ...claudePermissionScreen('echo hi > proto.txt')].join('\n');
    expect(classifyScreen('claude', null, prompt).prompt).toMatchObject({
      tool: 'Bash',
      detail: 'echo hi > proto.txt',
      id: classifyScreen('claude', null, screen('claude-permission')).prompt!.id,
    });
    expect(classifyScreen('claude', null, ['❯ run the tests', '', ...CLAUDE_RATE_LIMITED, ...CLAUDE_IDLE_BOX].join('\n'))).toMatchObject({
      state: 'error',
      error: { kind: 'rate_limit' },
    });
  });

  it('unknown runtime ⇒ no rules; an unrecognised screen ⇒ unknown; a path or alias names the runtime', () => {
    expect(classifyScreen('sleep', null, 'anything')).toEqual({ state: 'unknown', rules: 'none' });
    expect(classifyScreen('claude', null, '$ ls\nfoo bar\n').state).toBe('unknown');
    expect(classifyScreen('/opt/bin/Claude-Code', null, screen('claude-idle')).state).toBe('idle');
  });

  it('version ranges pick the rule set; without a version the first for the runtime', () => {
    const rules = {
      version: 1 as const,
      runtimes: [
        { runtime: 'x', versions: '>=2', idle: ['NEW'], busy: [] },
        { runtime: 'x', versions: '<2', idle: ['OLD'], busy: [] },
      ],
    };
    const y = (_text: string) => parseScreenRulesYaml(JSON.stringify(rules), 'f.yaml').rules!;
    expect(classifyScreen('x', '1.4.0', 'OLD', y('')).state).toBe('idle');
    expect(classifyScreen('x', '1.4.0', 'NEW', y('')).state).toBe('unknown');
    expect(classifyScreen('x', 'v2.1', 'NEW', y('')).state).toBe('idle');
    expect(classifyScreen('x', null, 'NEW', y('')).rules).toBe('x@>=2 (override)');
  });

  it('the shipped rules compile and validate against schema/screen-rules.schema.json', () => {
    expect(shippedScreenRules().sets.map((s) => s.set.runtime)).toEqual(['claude', 'claude', 'codex', 'pi', 'opencode']);
    expect(parseScreenRulesYaml(JSON.stringify(SHIPPED_SCREEN_RULES), 'shipped.json').error).toBeNull();
  });
});

describe('the override <home>/fleet/screen-rules.yaml', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('its entries come first; a bad file gives ONE error with file:line and the shipped rules stay in use', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rules-'));
    const file = screenRulesOverridePath(dir);
    const cache = new ScreenRulesCache(file);
    expect(cache.get()).toMatchObject({ override: null, error: null });

    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, ['version: 1', 'runtimes:', '  - runtime: claude', "    idle: ['READY>']", "    busy: ['THINKING']", ''].join('\n'));
    let st = cache.get();
    expect(st).toMatchObject({ override: file, error: null });
    expect(classifyScreen('claude', null, 'READY>', st.rules)).toEqual({ state: 'idle', rules: 'claude (override)' });
    // Other runtimes keep the shipped rules.
    expect(classifyScreen('codex', null, screen('codex-idle'), st.rules).rules).toBe('codex@>=0.100.0');

    fs.writeFileSync(file, ['version: 1', 'runtimes:', '  - runtime: claude', "    idle: ['READY>']", "    busy: ['(unclosed']", ''].join('\n'));
    st = cache.get();
    expect(st.error).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: runtimes\\[0\\]\\.busy\\[0\\]: Invalid regular expression: .* — the shipped screen rules stay in use$`,
      ),
    );
    expect(st.override).toBeNull();
    expect(classifyScreen('claude', null, screen('claude-idle'), st.rules).rules).toBe('claude@>=2.1.198');

    fs.writeFileSync(file, ['version: 1', 'runtimes:', '  - runtime: claude', '    idle: READY', "    busy: ['x']", ''].join('\n'));
    expect(cache.get().error).toBe(`${file}:4: runtimes[0].idle must be array — the shipped screen rules stay in use`);
    fs.writeFileSync(file, ['version: 1', 'runtimes:', '  - runtime: claude', "    idle: ['x']", "    busy: ['x']", '    colour: red', ''].join('\n'));
    expect(cache.get().error).toBe(`${file}:3: runtimes[0] must NOT have additional properties (colour) — the shipped screen rules stay in use`);
    fs.writeFileSync(file, 'version: 1\nruntimes: [\n');
    expect(cache.get().error).toMatch(new RegExp(`:\\d+: YAML syntax: .* — the shipped screen rules stay in use$`));
  });
});
