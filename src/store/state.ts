/**
 * The console store's state types, apart from the slices that implement them, so the slices,
 * the selectors and the store import this file and none of them imports another for a type
 * (no import circle, type-only ones included).
 */
import type { StoreApi } from 'zustand/vanilla';
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import type { ScreenPrompt } from '../../fleet/types.js';
import type { Snapshot } from '../snapshot/types.js';
import type { Transition } from '../transitions/diff.js';

/** Fleet state (last snapshot, tick outcome) and its actions. */
export interface FleetSlice {
  fleet: {
    /** Last snapshot applied (null before the first tick). */
    snapshot: Snapshot | null;
    /** Local clock (ms since epoch) when `snapshot` was applied: base of live countdowns. */
    snapshotAtMs: number | null;
    /** Local clock (ms) of the last finished tick, successful or not. */
    lastTickAtMs: number | null;
    /** Error of the last tick when collectSnapshot itself failed (probe errors live in the snapshot). */
    tickError: string | null;
    /** Number of snapshots applied. */
    applied: number;
  };
  /**
   * Applies a whole snapshot (fleet and backlog sections) taken at local time `atMs` (ms),
   * with the pane preview captured for it when given (one store update, one render).
   */
  applySnapshot: (snapshot: Snapshot, atMs?: number, preview?: ConsoleState['ui']['preview']) => void;
  /**
   * Replaces the snapshot (taken at local time `atMs`, ms) WITHOUT notifying subscribers: no
   * React render, no feed diff. Only for a snapshot that differs from the applied one in the
   * fleet table's cells alone (src/snapshot/view-cells.ts), which the caller redraws itself
   * (components/FleetTable.tsx `redrawFleetCells`); every later render and every reader of the
   * state sees it, and the feed diffs it against its previous snapshot at the next notified update.
   * `fleet` is updated in place (the same object): components that draw the fleet select
   * `s.fleet` itself and read its snapshot, so a quiet apply does not re-render them at the next
   * notification (the clock's, every second). The backlog section is replaced only when it has
   * claims (their TTLs count down from `snapshotAtMs`); else the one held draws the same.
   */
  applySnapshotQuietly: (snapshot: Snapshot, atMs?: number) => void;
  /**
   * Records a failed tick: the error is shown, and the last snapshot stays on screen with every
   * agent `unknown` (evidence: the failure, and what it was when last seen) — a row is never
   * shown with the readiness of a tick that is no longer true ({@link snapshotGoneStale}).
   */
  tickFailed: (error: string, atMs?: number) => void;
}

/** One backlog event as the console shows it (who, what, when). Every string sanitized. */
export interface BacklogEventView {
  /** When it happened, ISO 8601 (the event's `at`). */
  at: string;
  actor: string;
  /** The event's verb: claim, renew, reclaim, complete, receipt, dispatch, … */
  action: string;
  cardId: string | null;
  /** Short one-line digest of the event's detail (receipt status, owner/token/TTL…). */
  summary: string;
}

/**
 * Where the recent-events list stands: `idle` (never asked), `loading`, `loaded`, `absent`
 * (no backlog store yet: none was created to answer) or `error` (`message` says why).
 */
export type BacklogEventsState = 'idle' | 'loading' | 'loaded' | 'absent' | 'error';

/** Backlog state and its actions. */
export interface BacklogSlice {
  backlog: {
    /** Section of the last snapshot; null when the snapshot had none (backlog probe absent). */
    section: BacklogSection | null;
    /** Recent events, newest first (filled by actions; the snapshot does not carry them). */
    events: BacklogEventView[];
    /** Load state of `events`, with a sanitized reason when `absent`/`error`. */
    eventsStatus: { state: BacklogEventsState; message: string | null; loadedAtMs: number | null };
  };
  /** Replaces the recent events list (newest first, at most 50 kept); marks it loaded at `atMs` (ms). */
  setBacklogEvents: (events: BacklogEventView[], atMs?: number) => void;
  /** Sets the load state of the events list (loading / absent / error), keeping the last list. */
  setBacklogEventsState: (state: BacklogEventsState, message?: string | null) => void;
}

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
 * shown by the full views (help, details, events, transitions, spend). `pending` is an action in flight
 * ("sending to coder1…") whose result the dialog will show.
 */
export type OpenView =
  | { kind: 'none' }
  | { kind: 'help'; scroll: number }
  | { kind: 'details'; of: DetailsOf; scroll: number; card: { id: string; lines: string[] } | null }
  | { kind: 'events'; scroll: number }
  /** The fleet's transitions, newest first (docs/transitions.md). */
  | { kind: 'transitions'; scroll: number }
  /** Today's spend per agent and subscription window (docs/spend.md). */
  | { kind: 'spend'; scroll: number }
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
export type PlainModal = 'help' | 'events' | 'transitions' | 'spend' | 'filter' | 'send-editor' | 'confirm-pause' | 'confirm-dispatch' | 'confirm-release';

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

/** Transitions state and its actions. */
export interface TransitionsSlice {
  transitions: {
    /** Chronological (oldest first), bounded. */
    list: Transition[];
    /** Bumped on every change of `list` (caches of timelines key on it). */
    version: number;
    /** Per agent: its latest readiness transition (for `since`). */
    lastReadiness: ReadonlyMap<string, Transition>;
    /** Local clock (ms) of the first snapshot this console saw; null before it. */
    observedSinceMs: number | null;
    /** Agents whose attention transitions give no notice, bell or desktop notification. */
    muted: readonly string[];
    /** Why the history could not be read or written (shown once as a notice), null when fine. */
    historyError: string | null;
    /** The history file this console reads and records in; null when the history is off. */
    historyFile: string | null;
  };
  /** Replaces the list with `list` (the history read at start), chronological. */
  loadTransitions: (list: readonly Transition[], nowMs?: number) => void;
  /** Appends transitions observed now (chronological); prunes to the bounds. */
  addTransitions: (list: readonly Transition[], nowMs?: number) => void;
  /** Marks the start of this console's own observation (first snapshot), once. */
  markObserved: (atMs: number) => void;
  /** Mutes / unmutes `agent`. */
  toggleMute: (agent: string) => void;
  setHistoryError: (error: string | null) => void;
  /** Says which history file is in use (null: history off). */
  setHistoryFile: (file: string | null) => void;
}

/** The whole console state: the slices (fleet, backlog, ui, transitions) and their actions. */
export type ConsoleState = FleetSlice & BacklogSlice & UiSlice & TransitionsSlice;
/** The vanilla store (getState/setState/subscribe), usable outside React. */
export type ConsoleStore = StoreApi<ConsoleState>;
