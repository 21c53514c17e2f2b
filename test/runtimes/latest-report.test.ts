/**
 * The drift report of `npm run runtimes:latest` (test/runtimes/latest.ts): versions that moved,
 * tests that did not hold, matrix cells whose receipts differ from the published matrix.
 */
import { describe, expect, it } from 'vitest';
import { driftReport, testOutcomes, type VersionRow } from './latest.js';

const ROWS: VersionRow[] = [
  { runtime: 'claude', package: '@anthropic-ai/claude-code', pinned: '2.1.197', latestBefore: '2.1.332', newest: '2.1.340' },
  { runtime: 'codex', package: '@openai/codex', pinned: '0.171.0', latestBefore: '0.171.0', newest: '0.171.0' },
];

describe('runtimes:latest drift report', () => {
  it('names moved versions, changed tests and changed matrix cells', () => {
    const tests = testOutcomes({
      testResults: [
        {
          assertionResults: [
            { fullName: 'receipts matrix: real claude 2.1.340 auto mode idle', status: 'failed', failureMessages: ['expected refused to be submitted\n at …'] },
            { fullName: 'readiness ok', status: 'passed' },
          ],
        },
      ],
    });
    const lines = driftReport(ROWS, tests, [
      { runtime: 'claude', variant: 'claude 2.1.340 auto mode', state: 'idle', shape: 'one line', receipts: ['refused'] },
      { runtime: 'claude', state: 'idle', shape: 'multi-line', receipts: ['submitted'] },
      { runtime: 'claude', state: 'just restarted', shape: 'one line', receipts: ['refused'] },
    ]);
    expect(lines).toContain('  claude    @anthropic-ai/claude-code 2.1.340: pinned 2.1.197 → newest 2.1.340 (latest set was 2.1.332)');
    expect(lines).toContain('  codex     @openai/codex 0.171.0: same as pinned');
    expect(lines).toContain('2 test(s) run on the newest set: 1 held, 1 changed');
    expect(lines).toContain('  CHANGED receipts matrix: real claude 2.1.340 auto mode idle: expected refused to be submitted');
    expect(lines).toContain('  CHANGED cell claude 2.1.340 auto mode / idle / one line: refused (expected submitted)');
    expect(lines.filter((l) => l.includes('CHANGED'))).toHaveLength(2);
  });

  it('every cell held: says the newest set can be pinned; --check runs nothing', () => {
    expect(driftReport(ROWS, [{ name: 'a', status: 'passed' }], [])).toContain(
      '  every cell held: the newest set can become the pinned set (copy `latest` over the top-level entries)',
    );
    expect(driftReport(ROWS, null, []).pop()).toBe('tests not run (--check)');
  });
});
