/**
 * `waiting` and `stuck` in the console and the `--once` table: their own colour
 * AND word, counted first in the header, filterable by word and by flag, evidence and the
 * screen's prompt in the details view.
 */
import { afterEach, describe, expect, it } from 'vitest';
import chalk from 'chalk';
import { readinessColor } from '../../components/Line.js';
import { READINESS_ORDER } from '../../fleet/types.js';
import { agentMatchesFilter } from '../../src/store/selectors.js';
import type { AgentRow } from '../../src/snapshot/types.js';
import { renderSnapshotTable } from '../../src/view/once-table.js';
import { agentDetailLines, readinessCounts } from '../../src/view/rows.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';
import { renderConsole, type Rendered } from '../helpers/render.js';

const ESC = '\u001b';
let current: Rendered | null = null;
afterEach(() => {
  current?.unmount();
  current = null;
});

const prompt = {
  kind: 'permission' as const,
  tool: 'Bash',
  detail: 'echo hi > proto.txt',
  block: ' Bash command\n\n   echo hi > proto.txt\n Do you want to proceed?\n ❯ 1. Yes',
  id: 'd2a353cde108c984',
};
// A tuple, so a test picks its agents by position.
function fleet(): [AgentRow, AgentRow, AgentRow, AgentRow] {
  return [
    makeAgent('orchestrator', { class: 'orchestrator' }),
    makeAgent('enhancer1', { class: 'enhancer', readiness: 'available' }),
    makeAgent('gated', {
      readiness: 'waiting',
      evidence: [
        'screen: permission prompt Bash echo hi > proto.txt [claude@>=2.0.0]',
        'heartbeat 3s old, state=waiting (permission: Bash echo hi > proto.txt)',
      ],
      screen: { state: 'waiting', rules: 'claude@>=2.0.0', ageSeconds: 0, sinceSeconds: 3, prompt },
    }),
    makeAgent('limited', {
      readiness: 'stuck',
      flags: ['LIMITED'],
      evidence: ['heartbeat 5s old, state=stuck (rate limited (429))'],
    }),
  ];
}

describe('waiting and stuck in the console', () => {
  it('each readiness has its own colour, and waiting/stuck differ from every other', () => {
    const colours = READINESS_ORDER.map(readinessColor);
    expect(colours.every(Boolean)).toBe(true);
    expect(new Set(colours).size).toBe(READINESS_ORDER.length);
  });

  it('header counts waiting and stuck first; the rows print the words; LIMITED in FLAGS', async () => {
    const snapshot = makeSnapshot(fleet());
    expect(readinessCounts(snapshot)).toBe('waiting 1  stuck 1  working 1  available 1');
    current = renderConsole({ columns: 160, rows: 30, color: false, snapshot });
    const frame = await current.waitFor((f) => f.includes('limited'), 'table');
    expect(frame.split('\n')[1]).toMatch(/^fleet running  waiting 1  stuck 1  working 1  available 1  floor ok/);
    expect(frame.split('\n').find((l) => l.includes('gated'))).toMatch(/gated\s+waiting\s/);
    expect(frame.split('\n').find((l) => l.includes('limited'))).toMatch(/limited\s+stuck\s.*LIMITED/);
    // The LAST 1H column shares the row at 160 columns: the evidence is cut, still there.
    expect(frame).toContain('screen: permission');
  });

  it('colour on: waiting and stuck are coloured with their own colours', async () => {
    const level = chalk.level;
    chalk.level = 1;
    try {
      current = renderConsole({ columns: 160, rows: 30, color: true, snapshot: makeSnapshot(fleet()) });
      const frame = await current.waitFor((f) => f.includes('limited'), 'table');
      expect(frame).toContain(`${ESC}[94mwaiting`); // blueBright
      expect(frame).toContain(`${ESC}[91mstuck`); // redBright
    } finally {
      chalk.level = level;
    }
  });

  it('filterable: by the word, and by the flag', async () => {
    const [, , gated, limited] = fleet();
    expect(agentMatchesFilter(gated, 'waiting')).toBe(true);
    expect(agentMatchesFilter(limited, 'waiting')).toBe(false);
    expect(agentMatchesFilter(limited, 'stuck')).toBe(true);
    expect(agentMatchesFilter(limited, 'limited')).toBe(true);
    current = renderConsole({ columns: 160, rows: 30, color: false, snapshot: makeSnapshot(fleet()) });
    await current.waitFor((f) => f.includes('limited'), 'table');
    await current.press('/');
    for (const ch of 'waiting') await current.press(ch);
    await current.press('enter');
    const frame = await current.waitFor((f) => f.includes('filter: waiting'), 'filter applied');
    expect(frame).toContain('gated');
    expect(frame).not.toMatch(/limited\s+stuck/);
  });

  it("details show the prompt the screen showed (tool, command, id, block) and the beat's reason", () => {
    const [, , gated] = fleet();
    gated.heartbeat = { ...gated.heartbeat!, state: 'waiting', reason: 'permission: Bash echo hi > proto.txt' };
    const lines = agentDetailLines(gated);
    expect(lines).toContain('screen waiting (rules claude@>=2.0.0, claude version unknown, read 0s ago, this state for 3s)');
    expect(lines).toContain('  permission Bash: echo hi > proto.txt  (prompt id d2a353cde108c984)');
    expect(lines).toContain('  | Do you want to proceed?');
    expect(lines).toContain('  reason: permission: Bash echo hi > proto.txt');
  });
});

describe('waiting and stuck in the --once table', () => {
  it('READINESS word, counts in the header line, LIMITED flag, evidence lines', () => {
    const out = renderSnapshotTable(makeSnapshot(fleet()));
    expect(out).toMatch(/4 agents: dead 0, waiting 1, stuck 1, unknown 0, stale 0, working 1, available 1/);
    expect(out.split('\n').find((l) => l.startsWith('gated '))).toMatch(/\swaiting\s/);
    expect(out.split('\n').find((l) => l.startsWith('limited '))).toMatch(/\sstuck\s.*LIMITED$/);
    expect(out).toContain(
      'gated: screen: permission prompt Bash echo hi > proto.txt [claude@>=2.0.0]; heartbeat 3s old, state=waiting (permission: Bash echo hi > proto.txt)',
    );
  });
});
