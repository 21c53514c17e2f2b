import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRosterCacheDir, loadRoster, loadRosterCached, parseRosterText, RosterCache } from '../../fleet/roster.js';
import { readJsonFile } from '../helpers/json.js';
import { at } from '../helpers/must.js';

const UPSTREAM = `version: 1
transport: tmux
tmux:
  socket_name: mosaic-fleet
  holder_session: _holder
defaults:
  working_directory: ~/src
runtimes:
  codex: { reset_command: /clear }
agents:
  - name: orchestrator
    runtime: claude
    class: orchestrator
    model_hint: opus
  - name: coder1
    runtime: codex
    class: coder
    host: 10.1.10.37
    ssh: user@10.1.10.37
    socket: other-sock
    future_key: ignored
`;

describe('parseRosterText', () => {
  it('reads upstream format: socket, holder, agents, per-agent socket override, unknown keys ignored', () => {
    const r = parseRosterText(UPSTREAM, 'roster.yaml');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.roster.socket).toBe('mosaic-fleet');
    expect(r.roster.holderSession).toBe('_holder');
    expect(r.roster.version).toBe(1);
    expect(r.roster.agents).toEqual([
      {
        name: 'orchestrator',
        runtime: 'claude',
        runtimeDeclared: true,
        class: 'orchestrator',
        modelHint: 'opus',
        host: null,
        ssh: null,
        socket: 'mosaic-fleet',
        workingDirectory: '~/src',
        workingDirectoryDeclared: false,
      },
      {
        name: 'coder1',
        runtime: 'codex',
        runtimeDeclared: true,
        class: 'coder',
        modelHint: null,
        host: '10.1.10.37',
        ssh: 'user@10.1.10.37',
        socket: 'other-sock',
        workingDirectory: '~/src',
        workingDirectoryDeclared: false,
      },
    ]);
  });

  it('accepts camelCase keys', () => {
    const r = parseRosterText('tmux:\n  socketName: s1\n  holderSession: h\nagents:\n  - name: a\n    runtime: pi\n    modelHint: m\n', 'f');
    expect(r.ok && r.roster.socket).toBe('s1');
    expect(r.ok && r.roster.holderSession).toBe('h');
    expect(r.ok && at(r.roster.agents, 0).modelHint).toBe('m');
  });

  it('absent socket_name means the default socket (null), not a named default', () => {
    const r = parseRosterText('agents:\n  - name: a\n    runtime: pi\n', 'f');
    expect(r.ok && r.roster.socket).toBeNull();
    expect(r.ok && at(r.roster.agents, 0).socket).toBeNull();
  });

  it('names file:line:column for a missing name', () => {
    const r = parseRosterText('agents:\n  - name: a\n    runtime: pi\n  - runtime: codex\n    class: x\n', 'r.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual([expect.stringMatching(/^r\.yaml:4:5: agents\[1\]: missing required key `name`/)]);
  });

  it('names file:line:column for wrong types', () => {
    const r = parseRosterText('agents:\n  - name: a\n    runtime: [pi]\n  - name: b\n    runtime: pi\n    class: 7\n', 'r.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toContain('r.yaml:3:14: agent a: runtime must be a string');
    expect(r.errors).toContain('r.yaml:6:12: agent b: class must be a string, got number 7');
    const bad = parseRosterText('agents: nope\n', 'r.yaml');
    expect(!bad.ok && bad.errors[0]).toBe('r.yaml:1:9: agents must be a list');
  });

  it('rejects duplicate names and invalid names with positions', () => {
    const r = parseRosterText('agents:\n  - name: a\n    runtime: pi\n  - name: a\n    runtime: pi\n  - name: x/y\n    runtime: pi\n', 'r.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toBe('r.yaml:4:11: duplicate agent name "a" (first defined at r.yaml:2:11)');
    expect(r.errors[1]).toMatch(/^r\.yaml:6:11: agents\[2\]\.name "x\/y" is not a valid agent name/);
  });

  it('reports YAML syntax errors with line and column', () => {
    const r = parseRosterText('agents:\n  - name: a\n    runtime: "unterminated\n', 'r.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatch(/^r\.yaml:\d+:\d+: YAML syntax: /);
  });

  it('a key given twice in one agent is an error with its position', () => {
    const r = parseRosterText('agents:\n  - name: a\n    runtime: pi\n    runtime: codex\n', 'r.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]).toMatch(/^r\.yaml:4:5: YAML syntax: Map keys must be unique/);
  });

  it('an empty agents list is a valid (empty) fleet', () => {
    const r = parseRosterText('version: 1\nagents: []\n', 'f');
    expect(r.ok && r.roster.agents).toEqual([]);
  });
});

describe('loadRoster / RosterCache', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('a missing file is an error result, not a throw', () => {
    const r = loadRoster('/nonexistent/roster.yaml');
    expect(r).toEqual({ ok: false, errors: ['/nonexistent/roster.yaml: roster not found'] });
  });

  it('keeps the last good roster when a reload fails, and recovers', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-roster-'));
    const file = path.join(dir, 'roster.yaml');
    fs.writeFileSync(file, 'agents:\n  - name: a\n    runtime: pi\n');
    const cache = new RosterCache(file);
    const first = cache.get();
    expect(first.roster?.agents.map((a) => a.name)).toEqual(['a']);
    expect(cache.get()).toBe(first); // unchanged file ⇒ same object, no re-parse

    fs.writeFileSync(file, 'agents:\n  - runtime: pi\n    extra: 1\n');
    const broken = cache.get();
    expect(broken.stale).toBe(true);
    expect(broken.roster?.agents.map((a) => a.name)).toEqual(['a']);
    expect(broken.errors[0]).toMatch(/roster\.yaml:2:5: agents\[0\]: missing required key `name`/);

    fs.writeFileSync(file, 'agents:\n  - name: b\n    runtime: pi\n  - name: c\n    runtime: pi\n');
    const fixed = cache.get();
    expect(fixed.stale).toBe(false);
    expect(fixed.errors).toEqual([]);
    expect(fixed.roster?.agents.map((a) => a.name)).toEqual(['b', 'c']);

    fs.rmSync(file);
    const gone = cache.get();
    expect(gone.roster?.agents.map((a) => a.name)).toEqual(['b', 'c']);
    expect(gone.errors[0]).toMatch(/roster not found/);
  });
});

describe('parsed-roster cache', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('reuses the parsed copy while the file is unchanged, re-parses after a change, never caches errors', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-roster-cache-'));
    const file = path.join(dir, 'roster.yaml');
    const cacheDir = path.join(dir, 'cache');
    fs.writeFileSync(file, 'agents:\n  - name: a\n    runtime: pi\n');
    const first = loadRosterCached(file, cacheDir);
    expect(first.ok && first.roster.agents.map((a) => a.name)).toEqual(['a']);
    const cacheFile = at(fs.readdirSync(cacheDir), 0, 'cache file');
    expect(fs.statSync(path.join(cacheDir, cacheFile)).mode & 0o777).toBe(0o600);

    // Prove a hit: tamper with the cached copy; an unchanged roster file returns it.
    const cached = readJsonFile<{ roster: { agents: Array<{ name: string }> } }>(path.join(cacheDir, cacheFile));
    at(cached.roster.agents, 0).name = 'from-cache';
    fs.writeFileSync(path.join(cacheDir, cacheFile), JSON.stringify(cached));
    const hit = loadRosterCached(file, cacheDir);
    expect(hit.ok && at(hit.roster.agents, 0).name).toBe('from-cache');

    // Any change to the file (here: same content rewritten ⇒ new mtime/ctime) ⇒ parsed again.
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    const miss = loadRosterCached(file, cacheDir);
    expect(miss.ok && at(miss.roster.agents, 0).name).toBe('a');

    fs.writeFileSync(file, 'agents:\n  - runtime: pi\n');
    expect(loadRosterCached(file, cacheDir).ok).toBe(false);
    expect(loadRosterCached(file, cacheDir).ok).toBe(false);
    expect(fs.readdirSync(cacheDir)).toEqual([cacheFile]);

    // A garbage cache file is ignored, not trusted.
    fs.writeFileSync(file, 'agents:\n  - name: b\n    runtime: pi\n');
    fs.writeFileSync(path.join(cacheDir, cacheFile), '{not json');
    const fixed = loadRosterCached(file, cacheDir);
    expect(fixed.ok && at(fixed.roster.agents, 0).name).toBe('b');
    expect(new RosterCache(file, { cacheDir: null }).get().roster?.agents[0]?.name).toBe('b');
  });

  it('RosterCache sees a same-size rewrite even when the old mtime is put back (ctime changes)', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-roster-cache-'));
    const file = path.join(dir, 'roster.yaml');
    // Whole seconds, so putting the mtime back is exact.
    const old = 1_700_000_000;
    fs.writeFileSync(file, 'agents:\n  - name: aa\n    runtime: pi\n');
    fs.utimesSync(file, old, old);
    const cache = new RosterCache(file, { cacheDir: path.join(dir, 'cache') });
    expect(cache.get().roster?.agents[0]?.name).toBe('aa');
    const ctimeBefore = fs.statSync(file).ctimeMs;
    // ctime ticks at the kernel's clock granularity (a few ms): rewrite until it has moved.
    for (let i = 0; i < 200 && fs.statSync(file).ctimeMs === ctimeBefore; i++) {
      await new Promise((r) => setTimeout(r, 5));
      fs.writeFileSync(file, 'agents:\n  - name: bb\n    runtime: pi\n');
      fs.utimesSync(file, old, old);
    }
    expect(fs.statSync(file).mtimeMs).toBe(old * 1000);
    expect(fs.statSync(file).ctimeMs).not.toBe(ctimeBefore);
    expect(cache.get().roster?.agents[0]?.name).toBe('bb');
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultRosterCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/mosaic-top/roster');
    expect(defaultRosterCacheDir({ XDG_CACHE_HOME: 'relative' })).toBe(path.join(os.homedir(), '.cache', 'mosaic-top', 'roster'));
  });
});
