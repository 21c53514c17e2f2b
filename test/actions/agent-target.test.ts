import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRemoteTmux, tmuxCommand, tmuxServerLabel } from '../../fleet/exec.js';
import { resolveAgentTarget } from '../../src/actions/agent-target.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { stringMatching } from '../helpers/matchers.js';

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

  it('an agent of another host is reached over ssh (its server names the host); one on this host stays local', () => {
    roster(
      `version: 1\ntmux:\n  socket_name: fleet-a\nagents:\n  - { name: far, runtime: pi, host: 10.0.0.9, ssh: me@10.0.0.9 }\n  - { name: here, runtime: pi, host: ${os.hostname()} }\n`,
    );
    const far = resolveAgentTarget(paths, 'far');
    if ('error' in far) throw new Error(far.error);
    expect(far.socket).toBe('fleet-a');
    expect(isRemoteTmux(far.server) && tmuxServerLabel(far.server)).toBe('socket fleet-a at host 10.0.0.9');
    // The ssh line quotes every tmux argument for the remote shell and targets the roster's ssh:.
    const line = tmuxCommand(far.server, ['send-keys', '-l', '-t', '=far:0.0', '--', "it's; rm -rf ~"]);
    expect(line.args.slice(-2)).toEqual(['me@10.0.0.9', `'tmux' '-u' '-L' 'fleet-a' 'send-keys' '-l' '-t' '=far:0.0' '--' 'it'\\''s; rm -rf ~'`]);
    expect(resolveAgentTarget(paths, 'here')).toMatchObject({ socket: 'fleet-a', server: 'fleet-a' });
  });

  it('refuses unknown agents (listing the known ones) and a roster that does not load', () => {
    roster('version: 1\nagents:\n  - { name: a1, runtime: claude }\n  - { name: far, runtime: pi, host: 10.0.0.9, ssh: me@10.0.0.9 }\n');
    expect(resolveAgentTarget(paths, 'ghost')).toEqual({ error: stringMatching(/unknown agent "ghost" .*known agents: a1, far/) });
    roster('agents: [ {name: 1');
    expect(resolveAgentTarget(paths, 'a1')).toEqual({ error: stringMatching(/roster does not load: .*roster\.yaml:\d+:\d+/) });
    fs.rmSync(paths.roster);
    expect(resolveAgentTarget(paths, 'a1')).toEqual({ error: stringMatching(/roster not found/) });
  });
});
