/**
 * Screen layout of the console, computed by a pure function from the terminal size and what
 * is open. The live area never reaches the terminal's height (Ink clears the whole screen
 * when its output does): everything fits in `rows - 1` lines.
 */
import type { ConsoleState, Modal, OpenView } from '../store/index.js';
import { visibleAgents } from '../store/selectors.js';
import { snapshotErrors } from './rows.js';

/** Line budget of each part of the screen (0 = not shown). Widths in cells. */
export interface ConsoleLayout {
  width: number;
  /** Total lines the console may use: rows - 1. */
  height: number;
  headerLines: number;
  errorLines: number;
  /** Fleet table lines including its header line (and the unmanaged line, when any). */
  tableLines: number;
  tableWidth: number;
  backlogLines: number;
  backlogWidth: number;
  /** Backlog beside the table (wide terminals) rather than below it. */
  backlogBeside: boolean;
  previewLines: number;
  /** Help, details, recent events or transitions: they replace table, backlog and preview. */
  fullViewLines: number;
  dialogLines: number;
  noticeLines: number;
  statusLines: number;
}

/** Inputs of {@link computeLayout}. */
export interface LayoutInput {
  columns: number;
  rows: number;
  /** Errors to show in place (probe failures…). */
  errorCount: number;
  /** Lines the backlog panel would like (title + cards + blocked line). */
  backlogWanted: number;
  /**
   * Lines the fleet table would like (header + rows + unmanaged line + the timeline's legend);
   * default: all it can get. A short fleet leaves its unused lines to the backlog below it instead of a gap.
   */
  tableWanted?: number;
  previewOn: boolean;
  modal: Modal;
  /** Lines a receipt/message dialog would like. */
  dialogWanted?: number;
}

/** Terminal width from which the backlog goes beside the fleet table. */
export const WIDE_COLUMNS = 140;

/** Lays the screen out; every count is ≥ 0 and their sum is ≤ rows - 1. */
export function computeLayout(input: LayoutInput): ConsoleLayout {
  const width = Math.max(1, input.columns);
  const height = Math.max(1, input.rows - 1);
  let left = height;
  const take = (want: number): number => {
    const got = Math.max(0, Math.min(left, want));
    left -= got;
    return got;
  };
  const statusLines = take(1);
  const headerLines = take(height >= 8 ? 2 : 1);
  const noticeLines = take(1);
  const errorLines = take(Math.min(input.errorCount, height >= 30 ? 4 : 2));
  let dialogLines = 0;
  switch (input.modal) {
    case 'filter':
      dialogLines = take(1);
      break;
    case 'confirm-pause':
    case 'confirm-dispatch':
    case 'confirm-release':
    case 'confirm-unit':
      dialogLines = take(2);
      break;
    case 'confirm-answer':
      dialogLines = take(Math.min(8, Math.max(3, Math.floor(height / 3))));
      break;
    case 'send-editor':
      dialogLines = take(2);
      break;
    case 'receipt':
    case 'message':
      dialogLines = take(Math.min(Math.max(3, input.dialogWanted ?? 3), Math.max(3, Math.floor(height / 3))));
      break;
    default:
      break;
  }
  const base = { width, height, headerLines, errorLines, dialogLines, noticeLines, statusLines };
  if (input.modal === 'help' || input.modal === 'details' || input.modal === 'events' || input.modal === 'transitions' || input.modal === 'spend') {
    return { ...base, fullViewLines: take(left), tableLines: 0, tableWidth: width, backlogLines: 0, backlogWidth: 0, backlogBeside: false, previewLines: 0 };
  }
  const body = left;
  const previewLines = input.previewOn ? Math.min(body, Math.max(4, Math.floor(body * 0.4))) : 0;
  const main = body - previewLines;
  const backlogBeside = width >= WIDE_COLUMNS;
  if (backlogBeside) {
    const backlogWidth = Math.min(64, Math.floor(width * 0.32));
    return { ...base, fullViewLines: 0, tableLines: main, tableWidth: width - backlogWidth - 1, backlogLines: main, backlogWidth, backlogBeside, previewLines };
  }
  let backlogLines = Math.min(Math.max(2, input.backlogWanted), Math.max(2, Math.floor(main * 0.35)), main);
  let tableLines = main - backlogLines;
  if (input.tableWanted !== undefined && input.tableWanted < tableLines) {
    tableLines = Math.max(2, input.tableWanted);
    backlogLines = Math.min(main - tableLines, Math.max(backlogLines, input.backlogWanted));
  }
  return { ...base, fullViewLines: 0, tableLines, tableWidth: width, backlogLines, backlogWidth: width, backlogBeside, previewLines };
}

/** Lines the backlog panel would like: title + claimed cards + ready cards + the blocked line. */
export function backlogWantedLines(claimed: number, ready: number): number {
  return 2 + claimed + ready;
}

/** Lines the receipt/message dialog would like. */
export function dialogWantedLines(open: OpenView): number {
  if (open.kind === 'message') return 1 + (open.message?.lines.length ?? 1);
  if (open.kind === 'receipt') return 4;
  return 0;
}

/** The terminal's size in cells. */
export interface ScreenSize {
  columns: number;
  rows: number;
}

/**
 * The layout of the console for state `s` on a `size` terminal: every input of
 * {@link computeLayout} derived from the state, so the layout is computed wherever it is
 * needed (the screen, the page sizes of the keys) and never stored. Pure.
 */
export function consoleLayout(s: Pick<ConsoleState, 'fleet' | 'backlog' | 'ui'>, size: ScreenSize): ConsoleLayout {
  const section = s.backlog.section;
  return computeLayout({
    columns: size.columns,
    rows: size.rows,
    errorCount: snapshotErrors(s.fleet.snapshot, s.fleet.tickError).length,
    backlogWanted: backlogWantedLines(section?.claimed.length ?? 0, section?.ready.length ?? 0),
    // Header + one line per visible agent (or the "no agents" line) + the unmanaged line + the
    // LAST 1H legend line (docs/transitions.md).
    tableWanted: 1 + Math.max(1, visibleAgents(s.fleet.snapshot, s.ui.filter).length) + (s.fleet.snapshot?.unmanaged.length ? 1 : 0) + 1,
    previewOn: s.ui.previewOn,
    modal: s.ui.open.kind,
    dialogWanted: dialogWantedLines(s.ui.open),
  });
}

/**
 * What the keys need of a layout: rows per PgUp/PgDn (the table's lines less its header and
 * one of overlap) and the body lines of a full view (less its title and "more" line).
 */
export function viewSizeOf(layout: ConsoleLayout): { pageRows: number; viewLines: number } {
  return { pageRows: Math.max(1, layout.tableLines - 2), viewLines: Math.max(1, layout.fullViewLines - 2) };
}
