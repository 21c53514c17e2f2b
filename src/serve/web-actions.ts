/**
 * The operator actions behind the POST endpoints of `mosaic-top serve`: the same code as the CLI
 * (src/actions: `answerPrompt`, the verified `sendToAgent`, `pauseFleet`/`resumeFleet` with the
 * store's fleet-wide pause), each recorded in the backlog event log with the actor
 * `web:<remote address>` (only into an existing store, as every action). Each returns an HTTP
 * status and a JSON body; none throws. Bounded by the actions' own bounds (answer 10 s after
 * the key, send 5 s of verification, the input lock's ~8 s).
 */
import { messageOf } from '../../lib/errors.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { resolveAgentTarget } from '../actions/agent-target.js';
import { answerPrompt } from '../actions/answer.js';
import { clearFleetPause, FleetAlreadyPausedError, pauseFleet, recordFleetPause, resumeFleet } from '../actions/pause.js';
import { recordOperatorEvent, receiptEventDetail } from '../actions/receipt-event.js';
import { sendToAgent } from '../actions/send.js';

/** An action's answer: HTTP status and JSON body. */
export interface WebResult {
  status: 200 | 400 | 404 | 409 | 500;
  body: Record<string, unknown>;
}

/** Who acts: the remote address as the event log's actor. */
export function webActor(address: string): string {
  return `web:${address || 'unknown'}`;
}

function field(body: unknown, name: string): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}

/** POST /api/agents/{name}/answer `{answer: "allow"|"deny", promptId}`: the receipt of `answerPrompt` (promptId required). */
export async function webAnswer(paths: MosaicPaths, agent: string, body: unknown, actor: string): Promise<WebResult> {
  const answer = field(body, 'answer');
  const promptId = field(body, 'promptId');
  if (answer !== 'allow' && answer !== 'deny') return { status: 400, body: { error: 'answer must be "allow" (once) or "deny"' } };
  if (typeof promptId !== 'string' || !/^[0-9a-f]{4,64}$/.test(promptId))
    return { status: 400, body: { error: 'promptId is required: the id of the prompt shown (agents[].screen.prompt.id)' } };
  const target = resolveAgentTarget(paths, agent);
  if ('error' in target) return { status: 404, body: { error: target.error } };
  const receipt = await answerPrompt({
    agent,
    runtime: target.roster.runtime,
    answer,
    promptId,
    socket: target.server,
    runDir: paths.runDir,
    paths,
    by: actor,
  });
  return { status: 200, body: { ...receipt } };
}

/** POST /api/agents/{name}/send `{message}`: the verified send's receipt, recorded as a `receipt` event by `actor`. */
export async function webSend(paths: MosaicPaths, agent: string, body: unknown, actor: string): Promise<WebResult> {
  const message = field(body, 'message');
  if (typeof message !== 'string' || !message.trim()) return { status: 400, body: { error: 'message must be a non-empty string' } };
  const target = resolveAgentTarget(paths, agent);
  if ('error' in target) return { status: 404, body: { error: target.error } };
  const receipt = await sendToAgent({ agent, runtime: target.roster.runtime, socket: target.server, runDir: paths.runDir, message, verify: true });
  const recorded = await recordOperatorEvent(paths, 'receipt', { ...receiptEventDetail(receipt), by: actor }, { actor });
  return { status: 200, body: { ...receipt, recorded } };
}

/** POST /api/pause `{reason}`: writes `<run>/PAUSED` (by `actor`), and the store's fleet-wide pause on the server tier. 409 when already paused. */
export async function webPause(paths: MosaicPaths, body: unknown, actor: string): Promise<WebResult> {
  const reason = field(body, 'reason');
  if (reason !== undefined && typeof reason !== 'string') return { status: 400, body: { error: 'reason must be a string' } };
  let flag;
  try {
    flag = pauseFleet(paths.runDir, { by: actor, reason: reason || undefined });
  } catch (error) {
    if (error instanceof FleetAlreadyPausedError) return { status: 409, body: { error: error.message, paused: true, ...error.flag } };
    return { status: 500, body: { error: messageOf(error) } };
  }
  let storeError: string | null = null;
  try {
    await recordFleetPause(paths, flag);
  } catch (error) {
    storeError = `paused on this host only: ${messageOf(error)}`;
  }
  const recorded = await recordOperatorEvent(paths, 'pause', { ...flag }, { actor });
  return { status: 200, body: { paused: true, ...flag, recorded, ...(storeError ? { storeError } : {}) } };
}

/** POST /api/resume: removes the pause (run dir and store); `was` is the pause removed (null when none). */
export async function webResume(paths: MosaicPaths, actor: string): Promise<WebResult> {
  let was;
  try {
    was = resumeFleet(paths.runDir);
  } catch (error) {
    return { status: 500, body: { error: messageOf(error) } };
  }
  let storeError: string | null = null;
  try {
    was = (await clearFleetPause(paths)) ?? was;
  } catch (error) {
    storeError = `the store's pause could not be cleared: ${messageOf(error)}`;
  }
  const recorded = await recordOperatorEvent(paths, 'resume', { was, by: actor }, { actor });
  return { status: 200, body: { paused: false, was, by: actor, recorded, ...(storeError ? { storeError } : {}) } };
}
