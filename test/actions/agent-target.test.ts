import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveAgentTarget } from '../../src/actions/agent-target.js';
import { resolvePaths, type MosaicPaths } from '../../src/paths.js';

describe('resolveAgentTarget', () => {
  let home: string;
  let paths: MosaicPaths;
  const roster = (text: string) => fs.writeFileSync(paths.roster, text);

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-actions-target-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    fs.mkdirSync(path.dirname(paths.roster), { recursive: true });
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('takes the per-agent socket, else the roster socket, else the default socket (null)', () => {
    roster('version: 1\ntmux:\n  socket_name: fleet-a\nagents:\n  - { name: a1, runtime: claude }\n  - { name: a2, runtime: codex, socket: other }\n');
    expect(resolveAgentTarget(paths, 'a1')).toMatchObject({ agent: 'a1', socket: 'fleet-a' });
    expect(resolveAgentTarget(paths, 'a2')).toMatchObject({ agent: 'a2', socket: 'other' });
    roster('version: 1\nagents:\n  - { name: a1, runtime: claude }\n');
    expect(resolveAgentTarget(paths, 'a1')).toMatchObject({ agent: 'a1', socket: null });
  });

  it('refuses unknown agents (listing the known ones), remote agents, and a roster that does not load', () => {
    roster('version: 1\nagents:\n  - { name: a1, runtime: claude }\n  - { name: far, runtime: pi, host: 10.0.0.9, ssh: me@10.0.0.9 }\n');
    expect(resolveAgentTarget(paths, 'ghost')).toEqual({ error: expect.stringMatching(/unknown agent "ghost" .*known agents: a1, far/) });
    expect(resolveAgentTarget(paths, 'far')).toEqual({ error: expect.stringMatching(/lives on host 10\.0\.0\.9.*ssh me@10\.0\.0\.9/) });
    roster('agents: [ {name: 1');
    expect(resolveAgentTarget(paths, 'a1')).toEqual({ error: expect.stringMatching(/roster does not load: .*roster\.yaml:\d+:\d+/) });
    fs.rmSync(paths.roster);
    expect(resolveAgentTarget(paths, 'a1')).toEqual({ error: expect.stringMatching(/roster not found/) });
  });
});
