/** UI slice of the console store: focus, selection, filter, modal, preview, notices, clock. */
import type { StateCreator } from 'zustand/vanilla';
import type { SendReceipt } from '../../fleet/receipt.js';
import { backlogRows, moveIndex, selectedIndex, visibleAgents } from './selectors.js';
import type { ConsoleState } from './index.js';

/** Which panel receives the movement keys. */
export type Focus = 'fleet' | 'backlog';
/** The dialog or full view that is open (takes keys first). */
export type Modal =
  | 'none'
  | 'help'
  | 'filter'
  | 'details'
  | 'events'
  | 'transitions'
  | 'confirm-pause'
  | 'confirm-dispatch'
  | 'confirm-release'
  | 'confirm-unit'
  | 'send-editor'
  | 'receipt'
  | 'message';

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
    modal: Modal;
    /** What `details` shows: an agent or a card, fixed when the dialog opens. */
    detailsOf: { kind: 'agent' | 'card'; key: string } | null;
    previewOn: boolean;
    /** Sanitized capture of the previewed agent's pane. */
    preview: { agent: string; lines: string[]; error: string | null } | null;
    readonly: boolean;
    /** Colour allowed (false under NO_COLOR): state words are printed either way. */
    color: boolean;
    notices: Notice[];
    /** Text of the one-line send editor. */
    draft: string;
    /** An action in flight ("sending to coder1…"), shown in its dialog. */
    pending: string | null;
    /** Last send receipt, shown in the `receipt` dialog. */
    receipt: SendReceipt | null;
    /** Body of the `message` dialog (dispatch results, reclaim results). */
    message: { title: string; lines: string[] } | null;
    /** Local clock (ms), advanced every second by the poller: drives live countdowns. */
    clockMs: number;
    /** Rows per page for PgUp/PgDn (set by the layout). */
    pageSize: number;
    /** First line shown in the help/details/events views (they scroll when taller than the screen). */
    modalScroll: number;
    /** Body lines the help/details view shows at once (set by the layout). */
    modalView: number;
    /** Full card lines loaded from the backlog for the details view (sanitized). */
    cardDetails: { id: string; lines: string[] } | null;
    /** The unit action the `confirm-unit` dialog asks about: agent and verb, fixed when it opens. */
    unitAction: { agent: string; verb: 'start' | 'stop' | 'restart' } | null;
  };
  /** Moves the selection of the focused panel by rows, or to the top/bottom, or a page (±1 ⇒ pageSize). */
  moveSelection: (move: number | 'top' | 'bottom' | 'page-up' | 'page-down') => void;
  switchFocus: () => void;
  openModal: (modal: Modal) => void;
  closeModal: () => void;
  /** Opens details of the selected agent or card (focused panel); no-op on an empty panel. */
  openDetails: () => void;
  setFilter: (text: string) => void;
  setDraft: (text: string) => void;
  togglePreview: () => void;
  setPreview: (preview: UiSlice['ui']['preview']) => void;
  pushNotice: (text: string, level?: Notice['level'], atMs?: number) => void;
  setPending: (label: string | null) => void;
  showReceipt: (receipt: SendReceipt) => void;
  showMessage: (title: string, lines: string[]) => void;
  tickClock: (nowMs: number) => void;
  setPageSize: (rows: number) => void;
  showCardDetails: (id: string, lines: string[]) => void;
  /** Scrolls help/details by lines, or back to the top, within 0 … `lineCount - modalView`. */
  scrollModal: (delta: number | 'top', lineCount: number) => void;
  /** Sets how many body lines the help/details view shows (layout). */
  setModalView: (lines: number) => void;
  /** Opens the `confirm-unit` dialog for `verb` on `agent` (restart/stop/start keys). */
  askUnitAction: (agent: string, verb: 'start' | 'stop' | 'restart') => void;
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
      modal: 'none',
      detailsOf: null,
      previewOn: false,
      preview: null,
      readonly: opts.readonly ?? false,
      color: opts.color ?? true,
      notices: [],
      draft: '',
      pending: null,
      receipt: null,
      message: null,
      clockMs: Date.now(),
      pageSize: 10,
      cardDetails: null,
      modalScroll: 0,
      modalView: 10,
      unitAction: null,
    },
    moveSelection: (move) => {
      const s = get();
      const step = move === 'page-up' ? -s.ui.pageSize : move === 'page-down' ? s.ui.pageSize : move;
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
    openModal: (modal) => set((s) => ({ ui: { ...s.ui, modal, modalScroll: 0 } })),
    closeModal: () => set((s) => ({ ui: { ...s.ui, modal: 'none', detailsOf: null, pending: null, cardDetails: null } })),
    openDetails: () => {
      const s = get();
      if (s.ui.focus === 'fleet') {
        const names = visibleAgents(s.fleet.snapshot, s.ui.filter).map((a) => a.name);
        const i = selectedIndex(names, s.ui.selectedAgent);
        if (i < 0) return;
        set({ ui: { ...s.ui, modal: 'details', modalScroll: 0, detailsOf: { kind: 'agent', key: names[i] } } });
      } else {
        const ids = backlogRows(s.backlog.section, s.ui.filter).map((r) => r.id);
        const i = selectedIndex(ids, s.ui.selectedCard);
        if (i < 0) return;
        set({ ui: { ...s.ui, modal: 'details', modalScroll: 0, detailsOf: { kind: 'card', key: ids[i] } } });
      }
    },
    setFilter: (filter) => set((s) => ({ ui: { ...s.ui, filter } })),
    setDraft: (draft) => set((s) => ({ ui: { ...s.ui, draft } })),
    togglePreview: () => set((s) => ({ ui: { ...s.ui, previewOn: !s.ui.previewOn, preview: s.ui.previewOn ? null : s.ui.preview } })),
    setPreview: (preview) => set((s) => ({ ui: { ...s.ui, preview } })),
    pushNotice: (text, level = 'info', atMs = Date.now()) =>
      set((s) => ({ ui: { ...s.ui, clockMs: Math.max(s.ui.clockMs, atMs), notices: [...s.ui.notices, { text, level, atMs }].slice(-20) } })),
    setPending: (pending) => set((s) => ({ ui: { ...s.ui, pending } })),
    showReceipt: (receipt) => set((s) => ({ ui: { ...s.ui, receipt, pending: null, modal: 'receipt' } })),
    showMessage: (title, lines) => set((s) => ({ ui: { ...s.ui, message: { title, lines }, pending: null, modal: 'message' } })),
    tickClock: (clockMs) => set((s) => ({ ui: { ...s.ui, clockMs } })),
    showCardDetails: (id, lines) => set((s) => ({ ui: { ...s.ui, cardDetails: { id, lines } } })),
    scrollModal: (delta, lineCount) =>
      set((s) => {
        const max = Math.max(0, lineCount - s.ui.modalView);
        return { ui: { ...s.ui, modalScroll: delta === 'top' ? 0 : Math.min(max, Math.max(0, Math.min(s.ui.modalScroll, max) + delta)) } };
      }),
    setModalView: (lines) => {
      const modalView = Math.max(1, Math.floor(lines));
      if (get().ui.modalView !== modalView) set((s) => ({ ui: { ...s.ui, modalView } }));
    },
    askUnitAction: (agent, verb) => set((s) => ({ ui: { ...s.ui, unitAction: { agent, verb }, modal: 'confirm-unit', modalScroll: 0 } })),
    setPageSize: (rows) => {
      const pageSize = Math.max(1, Math.floor(rows));
      if (get().ui.pageSize !== pageSize) set((s) => ({ ui: { ...s.ui, pageSize } }));
    },
  });
}
