/**
 * What the key dispatcher works with: the side effects it may ask for ({@link ConsoleActions},
 * implemented in src/keys/commands.ts), one key press, and the layout's page sizes. Types only.
 */
import type { AgentRow } from '../snapshot/types.js';
import type { ClaimedCardView } from '../../backlog/snapshot.js';

/** Side effects the dispatcher can ask for; implemented in src/keys/commands.ts. */
export interface ConsoleActions {
  quit: () => void;
  refresh: () => void;
  togglePreview: () => void;
  watch: (agent: AgentRow) => void;
  /** Pauses a running fleet or resumes a paused one (after the operator confirmed). */
  pauseOrResume: () => Promise<void>;
  send: (agent: AgentRow, message: string) => Promise<void>;
  dispatch: (agent: AgentRow) => Promise<void>;
  reclaim: () => Promise<void>;
  /** Releases one claim back to ready (backlog reclaim by id), after the operator confirmed. */
  release: (card: ClaimedCardView) => Promise<void>;
  /** Loads the full card (body, acceptance, deps) for the details view, when a backlog client exists. */
  loadCardDetails?: (cardId: string) => Promise<void>;
  /** Loads the most recent backlog events (newest first) into the store for the events view. */
  loadEvents?: () => Promise<void>;
  /**
   * Starts, stops or restarts `agent`'s unit (after the operator confirmed) and shows the
   * result in place; absent where the console cannot act on units (then the keys say so).
   */
  unitAction?: (agent: AgentRow, verb: 'start' | 'stop' | 'restart') => Promise<void>;
  /**
   * Answers `agent`'s permission prompt (allow once / deny) — only the prompt with `promptId`,
   * the one the dialog showed — and shows the receipt in place (src/actions/answer.ts).
   */
  answer?: (agent: AgentRow, choice: 'allow' | 'deny', promptId: string) => Promise<void>;
}

/** One key press: its name (see keyNameOf) and the raw text Ink gave (for text entry). */
export interface KeyPress {
  name: string;
  input: string;
}

/** Layout values the moves need (computed by the layout each frame, never stored). */
export interface ViewSize {
  /** Rows per PgUp/PgDn in the panels. */
  pageRows: number;
  /** Body lines a full view (help, details, events, transitions) shows at once. */
  viewLines: number;
}
