/**
 * What every console action runs with: the store, the data paths, the poller, who acts, the
 * I/O functions (the real ones, or those a test injected) and the notice helper. Built once by
 * createConsoleActions (src/keys/commands.ts).
 */
import type { MosaicPaths } from '../../lib/paths.js';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { ConsoleStore } from '../store/index.js';
import type { Poller } from '../poller.js';
import type { AgentRow } from '../snapshot/types.js';
import type { dispatchCard } from '../actions/dispatch.js';
import type { sendToAgent } from '../actions/send.js';
import type { LifecycleResult, UnitActionOptions } from '../actions/lifecycle.js';
import type { AnswerOptions, AnswerReceipt } from '../actions/answer.js';

/** The console actions' shared context. */
export interface ActionContext {
  store: ConsoleStore;
  paths: MosaicPaths;
  poller: Pick<Poller, 'refresh' | 'capturePreview'>;
  /** Who acts, for `by=`. */
  operator: () => string;
  sendToAgent: typeof sendToAgent;
  dispatchCard: typeof dispatchCard;
  openBacklog: (paths: MosaicPaths) => Promise<BacklogClient>;
  /** Absent: loaded lazily from src/actions/answer.ts on first use. */
  answerPrompt?: (opts: AnswerOptions) => Promise<AnswerReceipt>;
  /** Absent: loaded lazily from src/actions/lifecycle.ts on first use. */
  unitAction?: (opts: UnitActionOptions) => Promise<LifecycleResult>;
  /** Hands the terminal to `watchAgent` and restores the console after. */
  watch: (agent: AgentRow) => void;
  /** Pushes a notice, sanitized. */
  notice: (text: string, level?: 'info' | 'warn' | 'error') => void;
}
