/**
 * UI slice of the console store: focus, selection, filter, what is open (a discriminated union
 * carrying the state that lives only while it is open), preview, notices, clock. Layout values
 * (rows per page, lines of a full view) are not stored: the layout computes them and passes them
 * to the moves that need them.
 */
import type { StateCreator } from 'zustand/vanilla';
import { backlogRows, moveIndex, selectedIndex, visibleAgents } from './selectors.js';
import type { ConsoleState, DetailsOf, OpenView, PlainModal, UiOptions, UiSlice } from './state.js';

/** The fresh state of a plain modal. */
function fresh(kind: PlainModal): OpenView {
  switch (kind) {
    case 'help':
    case 'events':
    case 'transitions':
    case 'spend':
      return { kind, scroll: 0 };
    case 'send-editor':
      return { kind, draft: '' };
    default:
      return { kind };
  }
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
        set({ ui: { ...s.ui, selectedAgent: names[next] ?? null } });
      } else {
        const ids = backlogRows(s.backlog.section, s.ui.filter).map((r) => r.id);
        const next = moveIndex(selectedIndex(ids, s.ui.selectedCard), ids.length, step);
        set({ ui: { ...s.ui, selectedCard: ids[next] ?? null } });
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
      const key = keys[i];
      if (key === undefined) return;
      const of: DetailsOf = { kind: s.ui.focus === 'fleet' ? 'agent' : 'card', key };
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
        if (open.kind !== 'help' && open.kind !== 'details' && open.kind !== 'events' && open.kind !== 'transitions' && open.kind !== 'spend') return s;
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

/** The scroll offset of the open full view (help, details, events, transitions, spend), 0 otherwise. */
export function openScroll(open: OpenView): number {
  return open.kind === 'help' || open.kind === 'details' || open.kind === 'events' || open.kind === 'transitions' || open.kind === 'spend' ? open.scroll : 0;
}

/** What the open details view shows, or null when no details view is open. */
export function openDetailsOf(open: OpenView): DetailsOf | null {
  return open.kind === 'details' ? open.of : null;
}

/** The action in flight in the open receipt/message dialog, or null. */
export function openPending(open: OpenView): string | null {
  return open.kind === 'receipt' || open.kind === 'message' ? open.pending : null;
}
