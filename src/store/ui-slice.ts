/**
 * UI slice of the console store: focus, selection, filter, what is open (a discriminated union
 * carrying the state that lives only while it is open), preview, notices, clock. Layout values
 * (rows per page, lines of a full view) are not stored: the layout computes them and passes them
 * to the moves that need them.
 */
import type { StateCreator } from 'zustand/vanilla';
import type { SendReceipt } from '../../fleet/receipt.js';
import type { ScreenPrompt } from '../../fleet/types.js';
import { backlogRows, moveIndex, selectedIndex, visibleAgents } from './selectors.js';
import type { ConsoleState } from './index.js';

/** Which panel receives the movement keys. */
export type Focus = 'fleet' | 'backlog';

/** What a details view shows: an agent or a card, fixed when it opens. */
export interface DetailsOf {
  kind: 'agent' | 'card';
  key: string;
}

/**
 * What is open over the panels (it takes keys first), with the state that only lives while it
 * is open: closing it (`{ kind: 'none' }`) drops all of it. `scroll` is the first body line
 * shown by the full views (help, details, events, transitions). `pending` is an action in flight
 * ("sending to coder1…") whose result the dialog will show.
 */
export type OpenView =
  | { kind: 'none' }
  | { kind: 'help'; scroll: number }
  | { kind: 'details'; of: DetailsOf; scroll: number; card: { id: string; lines: string[] } | null }
  | { kind: 'events'; scroll: number }
  /** The fleet's transitions, newest first (docs/transitions.md). */
  | { kind: 'transitions'; scroll: number }
  | { kind: 'filter' }
  | { kind: 'send-editor'; draft: string }
  | { kind: 'confirm-pause' }
  | { kind: 'confirm-dispatch' }
  | { kind: 'confirm-release' }
  /** A unit action to confirm: the agent and the verb, fixed when it opens. */
  | { kind: 'confirm-unit'; agent: string; verb: 'start' | 'stop' | 'restart' }
  /** A permission prompt to answer: the agent and the prompt as read when it opened (its id is what the answer checks). */
  | { kind: 'confirm-answer'; agent: string; prompt: ScreenPrompt }
  | { kind: 'receipt'; pending: string | null; receipt: SendReceipt | null }
  | { kind: 'message'; pending: string | null; message: { title: string; lines: string[] } | null };

/** The kind of what is open (`none` when nothing is). */
export type Modal = OpenView['kind'];

/** Views and dialogs {@link UiSlice.openModal} opens with nothing but their kind. */
export type PlainModal = 'help' | 'events' | 'transitions' | 'filter' | 'send-editor' | 'confirm-pause' | 'confirm-dispatch' | 'confirm-release';

/** The fresh state of a plain modal. */
function fresh(kind: PlainModal): OpenView {
  switch (kind) {
    case 'help':
    case 'events':
    case 'transitions':
      return { kind, scroll: 0 };
    case 'send-editor':
      return { kind, draft: '' };
    default:
      return { kind };
  }
}

/** A short message for the operator (refusals, action results). */
export interface Notice {
  text: string;
  /** `progress`: work in progress that the next snapshot completes ("refreshing…"): hidden then. */
  level: 'info' | 'warn' | 'error' | 'progress';
  atMs: number;
}

/** UI state and its actions. */
export interface UiSlice {
  ui: {
    focus: Focus;
    /** Selected agent by name (survives refreshes and reordering); null = first row. */
    selectedAgent: string | null;
    /** Selected backlog card by id; null = first row. */
    selectedCard: string | null;
    filter: string;
    /** What is open over the panels, with its own state. */
    open: OpenView;
    previewOn: boolean;
    /** Sanitized capture of the previewed agent's pane. */
    preview: { agent: string; lines: string[]; error: string | null } | null;
    readonly: boolean;
    /** Colour allowed (false under NO_COLOR): state words are printed either way. */
    color: boolean;
    notices: Notice[];
    /** Local clock (ms), advanced every second by the poller: drives live countdowns. */
    clockMs: number;
  };
  /** Moves the selection of the focused panel by rows, or to the top/bottom, or a page of `pageRows` rows (the layout's). */
  moveSelection: (move: number | 'top' | 'bottom' | 'page-up' | 'page-down', pageRows?: number) => void;
  switchFocus: () => void;
  /** Opens a view or dialog fresh (scroll 0, empty draft). */
  openModal: (modal: PlainModal) => void;
  /** Closes what is open; everything that lived with it goes too. */
  closeModal: () => void;
  /** Opens details of the selected agent or card (focused panel); no-op on an empty panel. */
  openDetails: () => void;
  setFilter: (text: string) => void;
  /** Sets the send editor's text (no-op unless the editor is open). */
  setDraft: (text: string) => void;
  togglePreview: () => void;
  setPreview: (preview: UiSlice['ui']['preview']) => void;
  pushNotice: (text: string, level?: Notice['level'], atMs?: number) => void;
  /** Opens the receipt or message dialog with an action in flight (`label`, e.g. "sending to coder1…"). */
  startPending: (kind: 'receipt' | 'message', label: string) => void;
  showReceipt: (receipt: SendReceipt) => void;
  showMessage: (title: string, lines: string[]) => void;
  tickClock: (nowMs: number) => void;
  /** Fills the open details view of card `id` with its loaded lines (no-op when it is not open any more). */
  showCardDetails: (id: string, lines: string[]) => void;
  /**
   * Scrolls the open full view by lines, or back to the top, within 0 … `lineCount - viewLines`
   * (`viewLines`: body lines it shows at once, the layout's). No-op when no full view is open.
   */
  scrollModal: (delta: number | 'top', lineCount: number, viewLines: number) => void;
  /** Opens the `confirm-unit` dialog for `verb` on `agent` (restart/stop/start keys). */
  askUnitAction: (agent: string, verb: 'start' | 'stop' | 'restart') => void;
  /** Opens the `confirm-answer` dialog on `prompt` of `agent` (the answer key). */
  askAnswer: (agent: string, prompt: ScreenPrompt) => void;
}

/** Options fixed at start: read-only mode and colour. */
export interface UiOptions {
  readonly?: boolean;
  color?: boolean;
}

/** Creates the UI slice (zustand slices pattern). */
export function createUiSlice(opts: UiOptions = {}): StateCreator<ConsoleState, [], [], UiSlice> {
  return (set, get) => ({
    ui: {
      focus: 'fleet',
      selectedAgent: null,
      selectedCard: null,
      filter: '',
      open: { kind: 'none' },
      previewOn: false,
      preview: null,
      readonly: opts.readonly ?? false,
      color: opts.color ?? true,
      notices: [],
      clockMs: Date.now(),
    },
    moveSelection: (move, pageRows = DEFAULT_PAGE_ROWS) => {
      const s = get();
      const page = Math.max(1, Math.floor(pageRows));
      const step = move === 'page-up' ? -page : move === 'page-down' ? page : move;
      if (s.ui.focus === 'fleet') {
        const names = visibleAgents(s.fleet.snapshot, s.ui.filter).map((a) => a.name);
        const next = moveIndex(selectedIndex(names, s.ui.selectedAgent), names.length, step);
        set({ ui: { ...s.ui, selectedAgent: next >= 0 ? names[next] : null } });
      } else {
        const ids = backlogRows(s.backlog.section, s.ui.filter).map((r) => r.id);
        const next = moveIndex(selectedIndex(ids, s.ui.selectedCard), ids.length, step);
        set({ ui: { ...s.ui, selectedCard: next >= 0 ? ids[next] : null } });
      }
    },
    switchFocus: () => set((s) => ({ ui: { ...s.ui, focus: s.ui.focus === 'fleet' ? 'backlog' : 'fleet' } })),
    openModal: (modal) => set((s) => ({ ui: { ...s.ui, open: fresh(modal) } })),
    closeModal: () => set((s) => ({ ui: { ...s.ui, open: { kind: 'none' } } })),
    openDetails: () => {
      const s = get();
      const keys =
        s.ui.focus === 'fleet' ? visibleAgents(s.fleet.snapshot, s.ui.filter).map((a) => a.name) : backlogRows(s.backlog.section, s.ui.filter).map((r) => r.id);
      const i = selectedIndex(keys, s.ui.focus === 'fleet' ? s.ui.selectedAgent : s.ui.selectedCard);
      if (i < 0) return;
      const of: DetailsOf = { kind: s.ui.focus === 'fleet' ? 'agent' : 'card', key: keys[i] };
      set({ ui: { ...s.ui, open: { kind: 'details', of, scroll: 0, card: null } } });
    },
    setFilter: (filter) => set((s) => ({ ui: { ...s.ui, filter } })),
    setDraft: (draft) => set((s) => (s.ui.open.kind === 'send-editor' ? { ui: { ...s.ui, open: { kind: 'send-editor', draft } } } : s)),
    togglePreview: () => set((s) => ({ ui: { ...s.ui, previewOn: !s.ui.previewOn, preview: s.ui.previewOn ? null : s.ui.preview } })),
    setPreview: (preview) => set((s) => ({ ui: { ...s.ui, preview } })),
    pushNotice: (text, level = 'info', atMs = Date.now()) =>
      set((s) => ({ ui: { ...s.ui, clockMs: Math.max(s.ui.clockMs, atMs), notices: [...s.ui.notices, { text, level, atMs }].slice(-20) } })),
    startPending: (kind, label) =>
      set((s) => ({ ui: { ...s.ui, open: kind === 'receipt' ? { kind, pending: label, receipt: null } : { kind, pending: label, message: null } } })),
    showReceipt: (receipt) => set((s) => ({ ui: { ...s.ui, open: { kind: 'receipt', pending: null, receipt } } })),
    showMessage: (title, lines) => set((s) => ({ ui: { ...s.ui, open: { kind: 'message', pending: null, message: { title, lines } } } })),
    tickClock: (clockMs) => set((s) => ({ ui: { ...s.ui, clockMs } })),
    showCardDetails: (id, lines) =>
      set((s) => (s.ui.open.kind === 'details' && s.ui.open.of.key === id ? { ui: { ...s.ui, open: { ...s.ui.open, card: { id, lines } } } } : s)),
    scrollModal: (delta, lineCount, viewLines) =>
      set((s) => {
        const open = s.ui.open;
        if (open.kind !== 'help' && open.kind !== 'details' && open.kind !== 'events' && open.kind !== 'transitions') return s;
        const max = Math.max(0, lineCount - Math.max(1, Math.floor(viewLines)));
        const scroll = delta === 'top' ? 0 : Math.min(max, Math.max(0, Math.min(open.scroll, max) + delta));
        return { ui: { ...s.ui, open: { ...open, scroll } } };
      }),
    askUnitAction: (agent, verb) => set((s) => ({ ui: { ...s.ui, open: { kind: 'confirm-unit', agent, verb } } })),
    askAnswer: (agent, prompt) => set((s) => ({ ui: { ...s.ui, open: { kind: 'confirm-answer', agent, prompt } } })),
  });
}

/** Rows per PgUp/PgDn when the caller has no layout (tests, the first key before a frame). */
export const DEFAULT_PAGE_ROWS = 10;

/** The scroll offset of the open full view (help, details, events, transitions), 0 otherwise. */
export function openScroll(open: OpenView): number {
  return open.kind === 'help' || open.kind === 'details' || open.kind === 'events' || open.kind === 'transitions' ? open.scroll : 0;
}

/** What the open details view shows, or null when no details view is open. */
export function openDetailsOf(open: OpenView): DetailsOf | null {
  return open.kind === 'details' ? open.of : null;
}

/** The action in flight in the open receipt/message dialog, or null. */
export function openPending(open: OpenView): string | null {
  return open.kind === 'receipt' || open.kind === 'message' ? open.pending : null;
}
