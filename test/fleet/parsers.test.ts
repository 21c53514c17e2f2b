import { describe, expect, it } from 'vitest';
import { LIST_PANES_FORMAT, paneIdleSeconds, parseListPanes, PANE_FIELD_SEPARATOR, isNoServerError } from '../../fleet/tmux.js';
import { parseSystemctlShow } from '../../fleet/systemd.js';
import { parseProcStat } from '../../fleet/proc.js';
import { expectedProgram, parseAgentEnv } from '../../fleet/agent-env.js';

const S = PANE_FIELD_SEPARATOR;
const line = (f: string[]) => f.join(S);

describe('tmux list-panes parser', () => {
  it('asks for every field the spec needs, title last', () => {
    for (const f of [
      'session_name',
      'pane_pid',
      'pane_current_command',
      'pane_dead',
      'pane_dead_status',
      'pane_activity',
      'window_activity',
      'session_activity',
      'pane_width',
      'pane_height',
    ]) {
      expect(LIST_PANES_FORMAT).toContain(`#{${f}}`);
    }
    expect(LIST_PANES_FORMAT.endsWith('#{pane_title}')).toBe(true);
  });

  it('parses panes, falls back pane→window→session activity (tmux 3.3 empty pane_activity), clamps future', () => {
    const out =
      [
        line(['coder1', '0', '0', '%1', '4242', 'node', '0', '', '', '1000', '900', '120', '40', 'my title']),
        line(['dead1', '0', '0', '%2', '4243', 'sh', '1', '3', '', '', '', '80', '24', '']),
        line(['fut', '0', '0', '%3', '', 'bash', '0', '', '2000', '1000', '1000', '80', '24', 'ti' + S + 'tle']),
        'garbage line',
      ].join('\n') + '\n';
    const { panes, skipped } = parseListPanes(out, 1100);
    expect(skipped).toBe(1);
    expect(panes).toHaveLength(3);
    expect(panes[0]).toMatchObject({
      session: 'coder1',
      paneId: '%1',
      pid: 4242,
      currentCommand: 'node',
      dead: false,
      deadStatus: null,
      activity: 1000,
      idleSeconds: 100,
      width: 120,
      height: 40,
      title: 'my title',
    });
    expect(panes[1]).toMatchObject({ session: 'dead1', dead: true, deadStatus: 3, activity: null, idleSeconds: null });
    expect(panes[2]).toMatchObject({ pid: null, activity: 2000, idleSeconds: 0, title: 'ti' + S + 'tle' });
  });

  it('paneIdleSeconds skips empty/zero/non-numeric sources', () => {
    expect(paneIdleSeconds('', '', '500', 800)).toEqual({ activity: 500, idleSeconds: 300 });
    expect(paneIdleSeconds('0', 'x', '', 800)).toEqual({ activity: null, idleSeconds: null });
    expect(paneIdleSeconds('700', '100', '100', 800)).toEqual({ activity: 700, idleSeconds: 100 });
  });

  it('recognises "no server" messages', () => {
    expect(isNoServerError('no server running on /tmp/tmux-0/x')).toBe(true);
    expect(isNoServerError('error connecting to /tmp/tmux-0/x (No such file or directory)')).toBe(true);
    expect(isNoServerError('unknown option -- Z')).toBe(false);
  });
});

describe('systemctl show parser', () => {
  it('parses blank-line separated blocks, keyed by Id; MainPID 0 ⇒ null', () => {
    const out =
      'Id=mosaic-agent@a.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=123\n\n' +
      'Id=mosaic-agent@b.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nMainPID=0\n\n' +
      'LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=disabled\nMainPID=0\n';
    const units = parseSystemctlShow(out, ['mosaic-agent@a.service', 'mosaic-agent@b.service', 'mosaic-tmux-holder.service']);
    expect(units.get('mosaic-agent@a.service')).toEqual({
      name: 'mosaic-agent@a.service',
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      unitFileState: 'enabled',
      mainPid: 123,
    });
    expect(units.get('mosaic-agent@b.service')).toMatchObject({ loadState: 'not-found', unitFileState: '', mainPid: null });
    expect(units.get('mosaic-tmux-holder.service')).toMatchObject({ activeState: 'failed' });
    expect(parseSystemctlShow('')).toEqual(new Map());
  });
});

describe('/proc stat parser', () => {
  it('cuts comm at the last parenthesis', () => {
    expect(parseProcStat('1234 (node) S 1000 1234 1234 0 -1')).toEqual({ pid: 1234, ppid: 1000, comm: 'node' });
    expect(parseProcStat('77 (a) b (c)) R 5 77')).toEqual({ pid: 77, ppid: 5, comm: 'a) b (c)' });
    expect(parseProcStat('garbage')).toBeNull();
  });
});

describe('agent env', () => {
  it('parses EnvironmentFile syntax and picks the expected program', () => {
    const env = parseAgentEnv('# c\nexport MOSAIC_AGENT_COMMAND="/opt/bin/pi --model x"\nMOSAIC_AGENT_MODEL=\nBAD LINE\n');
    expect(env).toEqual({ MOSAIC_AGENT_COMMAND: '/opt/bin/pi --model x', MOSAIC_AGENT_MODEL: '' });
    expect(expectedProgram(env, 'claude')).toBe('pi');
    expect(expectedProgram({}, 'claude')).toBe('claude');
    expect(expectedProgram({ MOSAIC_AGENT_COMMAND: 'mosaic yolo codex' }, 'codex')).toBe('codex');
  });
});
