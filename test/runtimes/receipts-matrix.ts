/**
 * The published receipts matrix: runtime × target state × message shape, with the
 * receipt each cell must give. DATA shared by the real-runtime tests (test/runtimes/receipts-cells.ts,
 * one test file a runtime, which assert every cell against the real runtime AND what the model
 * endpoint received) and the table in docs/actions.md (kept in step by
 * test/runtimes/receipts-matrix-doc.test.ts, which renders this and compares).
 */
import type { ReceiptStatus } from '../../fleet/receipt.js';

/** The message shapes of the matrix. */
export const SHAPES = ['one line', 'multi-line', 'trailing ;', 'unicode', '2 KB', 'rapid second send'] as const;
export type Shape = (typeof SHAPES)[number];

/** The messages (the source label is added by the send: `[operator:mosaic-top] <message>`). */
export const MESSAGES: Record<Exclude<Shape, 'rapid second send'>, string> & { 'rapid second send': [string, string] } = {
  'one line': 'run the tests, then report back',
  'multi-line': 'first line of three\n- second line starts with a dash\nthird line: done',
  'trailing ;': 'run the tests; then \\; stop;',
  unicode: 'héllo wörld — ✓ 日本語 🚀 naïve café',
  '2 KB': Array.from({ length: 400 }, (_, i) => `w${i}`)
    .join(' ')
    .slice(0, 2048),
  'rapid second send': ['first of two rapid sends', 'second of two rapid sends'],
};

/** Target states of the matrix. */
export const STATES = [
  'idle',
  'busy (mid-turn)',
  'permission prompt open',
  'text already in the input box',
  'Enter not taken',
  'just restarted',
  'dead pane',
  'pane that reads nothing',
] as const;
export type State = (typeof STATES)[number];

/** Runtimes of the matrix; `(no rules)` is a pane whose runtime has no screen rules. */
export const MATRIX_RUNTIMES = ['claude', 'codex', 'pi', 'opencode', '(no rules)'] as const;
export type MatrixRuntime = (typeof MATRIX_RUNTIMES)[number];

/**
 * What a cell must give: one status, or for `rapid second send` the two receipts; `refused|submitted`
 * where the runtime decides (a just-restarted runtime refuses until its input line shows). The
 * endpoint side follows from the status: submitted/queued ⇒ the model receives the exact text
 * exactly once; typed_not_submitted ⇒ not yet (the text waits in the input box); no_evidence,
 * refused ⇒ never.
 */
export type Expected = ReceiptStatus | `${ReceiptStatus} + ${ReceiptStatus}` | 'refused|submitted';

const all = (e: Expected, rapid: Expected = e): Record<Shape, Expected> => ({
  'one line': e,
  'multi-line': e,
  'trailing ;': e,
  unicode: e,
  '2 KB': e,
  'rapid second send': rapid,
});

/** The matrix: a missing state means the runtime has no such state (or it is not run: see notes). */
export const EXPECTED: Record<MatrixRuntime, Partial<Record<State, Partial<Record<Shape, Expected>>>>> = {
  claude: {
    idle: all('submitted', 'submitted + queued'),
    'busy (mid-turn)': all('queued', 'queued + queued'),
    'permission prompt open': all('refused', 'refused + refused'),
    'text already in the input box': all('refused', 'refused + refused'),
    'Enter not taken': { 'one line': 'typed_not_submitted' },
    'just restarted': { 'one line': 'refused|submitted', 'multi-line': 'refused|submitted' },
    'dead pane': all('refused', 'refused + refused'),
    'pane that reads nothing': all('refused', 'refused + refused'),
  },
  codex: {
    idle: all('submitted', 'submitted + submitted'),
    'busy (mid-turn)': all('submitted', 'submitted + submitted'),
    'permission prompt open': all('refused', 'refused + refused'),
    'text already in the input box': all('refused', 'refused + refused'),
    'Enter not taken': { 'one line': 'typed_not_submitted' },
    'just restarted': { 'one line': 'refused|submitted', 'multi-line': 'refused|submitted' },
    'dead pane': all('refused', 'refused + refused'),
    'pane that reads nothing': all('refused', 'refused + refused'),
  },
  pi: {
    idle: { 'one line': 'submitted', 'multi-line': 'submitted', 'trailing ;': 'submitted', unicode: 'submitted' },
    'busy (mid-turn)': { 'one line': 'queued' },
    'text already in the input box': { 'one line': 'refused' },
    'dead pane': { 'one line': 'refused' },
  },
  opencode: {
    idle: { 'one line': 'submitted' },
    'permission prompt open': { 'one line': 'refused' },
  },
  '(no rules)': {
    'pane that reads nothing': {
      'one line': 'no_evidence',
      'multi-line': 'refused',
      'trailing ;': 'no_evidence',
      unicode: 'no_evidence',
      '2 KB': 'no_evidence',
    },
  },
};

/** Notes printed under the table (why a cell reads as it does). */
export const MATRIX_NOTES: string[] = [
  'Codex steers: Enter while a turn runs goes into that turn (it is cancelled and resent with the message): `submitted`, evidence "steered into the running turn".',
  'Claude Code runs on both version sets of test/runtimes/runtimes.json: the pinned 2.1.197 every cell; the newest 2.1.332 in auto mode (its default) idle, busy, text in the box, Enter not taken and just restarted, and in manual mode (`--permission-mode default`) idle and the permission prompt (auto mode runs these commands unasked). Same receipts on both; 2.1.332 hands a long paste (2 KB) to the model inside `<pasted_content id=…>…</pasted_content id=…>`, the text byte for byte inside.',
  'Claude Code, pi and opencode queue a message sent mid-turn (`Press up to edit queued messages`, `Steering:`, `QUEUED`): `queued`, and the model receives it when the turn ends.',
  '"Enter not taken": the delivery rule\'s submit key replaced by one the runtime ignores, to prove the text left in the input box is reported `typed_not_submitted` (and a second send is refused, never pasted behind it).',
  '"just restarted": sent the moment the runtime is started; `refused` while its input line is not on screen yet, `submitted` once it is — either way the model receives the text exactly once or not at all.',
  "opencode mid-turn is NOT in the matrix yet: in the one run here a message sent while opencode streamed gave `no_evidence` (its text showed as `┃  [operator:…]`, no `QUEUED` within the screen rules' bottom lines, and its rules have no input box) — opencode's input box and queued line still need measuring.",
  "\"pane that reads nothing\": a pane running `sleep`. With the runtime's screen rules it is not that runtime's input line: `refused`. Without rules the cursor line counts as an input line, and the terminal's echo is not uptake: `no_evidence` (several lines: `refused`, no bracketed paste known).",
];

/** Renders {@link EXPECTED} as the markdown table of docs/actions.md (one table per runtime). */
export function renderMatrixMarkdown(): string {
  const out: string[] = [];
  for (const runtime of MATRIX_RUNTIMES) {
    const rows = STATES.filter((s) => EXPECTED[runtime][s]);
    if (!rows.length) continue;
    out.push(`**${runtime}**`, '', `| state | ${SHAPES.join(' | ')} |`, `|---|${SHAPES.map(() => '---').join('|')}|`);
    for (const state of rows) {
      const cells = SHAPES.map((shape) => EXPECTED[runtime][state]![shape] ?? '—');
      out.push(`| ${state} | ${cells.map((c) => c.replace(/\|/g, ' or ')).join(' | ')} |`);
    }
    out.push('');
  }
  out.push(...MATRIX_NOTES.map((n) => `- ${n}`));
  return out.join('\n');
}
