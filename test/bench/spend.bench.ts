/**
 * Spend meter bench (`npm run bench:spend`): generates Claude Code records (`MOSAIC_BENCH_SPEND_MB`,
 * default 256 MB: assistant records with usage, tool results of a few KB, one in 50 lines a
 * 200 KB tool output, like real transcripts) under a throwaway CLAUDE_CONFIG_DIR, then reports
 * - the meter's first scan: seconds and peak RSS of a child process (goal ≤ 200 MB);
 * - a tick with nothing changed (the console's steady cost): milliseconds;
 * - `ccusage claude session --json --offline` on the same files (the test cache's copy), seconds.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpendLedger } from '../../fleet/spend/ledger.js';
import { listRecordFiles } from '../../fleet/spend/sources.js';
import { readJson } from '../helpers/json.js';
import { must } from '../helpers/must.js';

const here = fileURLToPath(import.meta.url);

function generate(dir: string, mb: number): { files: number; bytes: number; requests: number } {
  const project = path.join(dir, 'projects', '-bench');
  fs.mkdirSync(project, { recursive: true });
  let bytes = 0;
  let requests = 0;
  let files = 0;
  const target = mb * 1024 * 1024;
  const filler = 'x'.repeat(3000);
  const big = 'y'.repeat(200_000);
  while (bytes < target) {
    const lines: string[] = [];
    for (let i = 0; i < 2000 && bytes < target; i++) {
      const n = requests++;
      const rec = JSON.stringify({
        type: 'assistant',
        sessionId: `s${files}`,
        requestId: `req_${n}`,
        timestamp: new Date(Date.now() - (2000 - i) * 1000).toISOString(),
        message: {
          id: `msg_${n}`,
          model: 'claude-opus-4-8',
          usage: { input_tokens: 3 + (n % 7), output_tokens: 40 + (n % 13), cache_read_input_tokens: 9000 + n, cache_creation_input_tokens: 100 },
        },
      });
      const tool = JSON.stringify({
        type: 'user',
        sessionId: `s${files}`,
        message: { role: 'user', content: [{ type: 'tool_result', content: i % 50 === 0 ? big : filler }] },
      });
      lines.push(rec, rec, tool);
      bytes += rec.length * 2 + tool.length + 3;
    }
    fs.writeFileSync(path.join(project, `s${files++}.jsonl`), lines.join('\n') + '\n');
  }
  return { files, bytes, requests };
}

/** Child mode: scan once, print {seconds, requests, maxRssMb, tickMs}. */
function child(dir: string): void {
  const ledger = new SpendLedger(null);
  const files = listRecordFiles('claude', path.join(dir, 'projects'));
  const t0 = performance.now();
  let requests = 0;
  for (const f of files) {
    ledger.update(f, 'claude');
    requests += ledger.files.get(f)?.events.length ?? 0;
  }
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  for (const f of files) ledger.update(f, 'claude');
  const tickMs = performance.now() - t1;
  const result: ChildResult = { seconds, requests, maxRssMb: process.resourceUsage().maxRSS / 1024, tickMs };
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** What the `--child` scan prints (one JSON line): seconds and tick in their units, peak RSS in MB. */
interface ChildResult {
  seconds: number;
  requests: number;
  maxRssMb: number;
  tickMs: number;
}

function main(): void {
  if (process.argv[2] === '--child') return child(must(process.argv[3], 'records directory (--child <dir>)'));
  const mb = Number(process.env.MOSAIC_BENCH_SPEND_MB ?? 256);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-bench-spend-'));
  try {
    const g = generate(dir, mb);
    const out = readJson<ChildResult>(execFileSync(process.execPath, [here, '--child', dir], { encoding: 'utf8', maxBuffer: 1 << 20 }));
    const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(34)} ${v}\n`);
    line('spend: records', `${(g.bytes / 1048576).toFixed(0)} MB in ${g.files} files, ${g.requests} requests (each written twice)`);
    line('spend: first scan', `${out.seconds.toFixed(2)} s, ${out.requests} requests counted, peak RSS ${out.maxRssMb.toFixed(0)} MB (goal ≤ 200)`);
    line('spend: tick, nothing changed', `${out.tickMs.toFixed(2)} ms for ${g.files} files`);
    const cc = path.join(
      process.env.MOSAIC_TEST_RUNTIMES_DIR || path.join(os.homedir(), '.cache', 'mosaic-top-test', 'runtimes'),
      'extra',
      'ccusage@20.0.24',
      'node_modules',
      '.bin',
      'ccusage',
    );
    if (fs.existsSync(cc)) {
      const t = performance.now();
      execFileSync(cc, ['claude', 'session', '--json', '--offline'], {
        env: { PATH: process.env.PATH ?? '', HOME: dir, CLAUDE_CONFIG_DIR: dir },
        maxBuffer: 256 << 20,
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      line('ccusage session --json (same files)', `${((performance.now() - t) / 1000).toFixed(2)} s`);
    } else line('ccusage session --json', `not installed (${cc}): run the runtime tests once`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
