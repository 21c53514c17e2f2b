/**
 * The backlog verbs, listed once. Their signatures are the {@link BacklogService}'s own methods
 * (a mapped type over the service), so adding a verb is: the service method, its name in
 * {@link BACKLOG_VERBS} (the compiler refuses a public service method missing here), and its
 * CLI. The wire protocol's method list, the client interface, the socket client, the
 * in-process client and the server's dispatch are all derived from this list.
 *
 * Type-only import of the service: loading this file loads no database code.
 */
import type { BacklogService } from './service.js';
import type { BacklogTier } from './types.js';

/** Every verb a backlog client offers: the service method of the same name. */
export const BACKLOG_VERBS = [
  'create',
  'get',
  'list',
  'claim',
  'renew',
  'reclaim',
  'link',
  'block',
  'unblock',
  'complete',
  'stats',
  'events',
  'recordEvent',
  'importGoals',
  'overview',
  'pauseFleet',
  'resumeFleet',
  'fleetPause',
] as const satisfies readonly (keyof BacklogService)[];

/** One verb of {@link BACKLOG_VERBS}. */
export type BacklogVerb = (typeof BACKLOG_VERBS)[number];

/** The service's public async methods (private ones are not in `keyof`). */
type ServiceMethod = {
  [K in keyof BacklogService]: BacklogService[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof BacklogService];

/** Compile-time check: a public async method of the service that is not a verb fails to compile here. */
export const EVERY_SERVICE_METHOD_IS_A_VERB: [Exclude<ServiceMethod, BacklogVerb>] extends [never] ? true : never = true;

/** The verbs with the service's signatures: each takes at most one argument and resolves its result. */
export type BacklogVerbs = { [V in BacklogVerb]: BacklogService[V] };

/**
 * The backlog API, identical for both tiers (embedded: requests to the backlog server over
 * its Unix socket; server: the service in-process on Postgres). Every verb may throw
 * {@link import('./types.js').BacklogError} (codes and meanings on the service's methods).
 */
export interface BacklogClient extends BacklogVerbs {
  readonly tier: BacklogTier;
  /** Data dir (embedded) or masked DATABASE_URL (server). */
  readonly location: string;
  /**
   * Embedded tier: why the backlog server runs older code than this client (started before an
   * upgrade or rebuild), naming the fix; null when it is current or on the server tier.
   */
  readonly serverWarning: string | null;
  close(): Promise<void>;
}

/**
 * Builds the verbs from one function that runs a verb by name with its single argument
 * (`undefined` when the caller gave none). Used by both clients.
 */
export function verbsFrom(run: (verb: BacklogVerb, input: unknown) => Promise<unknown>): BacklogVerbs {
  const verbs: Partial<Record<BacklogVerb, (input?: unknown) => Promise<unknown>>> = {};
  for (const verb of BACKLOG_VERBS) verbs[verb] = (input?: unknown) => run(verb, input);
  return verbs as BacklogVerbs;
}
