/**
 * The dependency graph check: cards depend on cards (`depends_on`, upstream's jsonb list of
 * ids), and an edge that would close a cycle is refused with the cycle named ("A → B → A").
 * Changes to the graph (create, link, import) serialize on one advisory lock, held to the end
 * of their transaction.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from './db.js';
import { idList } from './rows.js';
import { BacklogError } from './types.js';

/** Advisory lock key serializing dependency-graph changes (create/link/import) across processes. */
const GRAPH_LOCK_KEY = 0x6d6f736169636c;

/** Takes the graph lock for the rest of the transaction `tx` (`pg_advisory_xact_lock`). */
export async function lockGraph(tx: BacklogDb): Promise<void> {
  // Raw SQL: drizzle's builder has no advisory-lock call.
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${GRAPH_LOCK_KEY})`);
}

/** The ids reachable from `start` by `depends_on` (`start` included), each with its own dependencies. */
async function reachable(db: BacklogDb, start: string): Promise<Map<string, string[]>> {
  // Raw SQL: a recursive CTE over jsonb elements, which drizzle's builder cannot express.
  // Reachability in SQL (UNION dedups, so linear in the reachable subgraph), the path in JS.
  const rows = rowsOf<{ id: string; depends_on: unknown }>(
    await db.execute(sql`WITH RECURSIVE reach(id) AS (
        SELECT ${start}::text
        UNION
        SELECT d.dep FROM reach r JOIN backlog b ON b.id = r.id
          CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(b.depends_on) = 'array' THEN b.depends_on ELSE '[]'::jsonb END) AS d(dep)
      )
      SELECT b.id, b.depends_on FROM backlog b JOIN reach r ON b.id = r.id`),
  );
  return new Map(rows.map((r) => [r.id, idList(r.depends_on)]));
}

/** The path start → … → target through `previous` (each id's predecessor in a breadth-first walk). */
function pathTo(previous: ReadonlyMap<string, string>, target: string): string[] {
  const path = [target];
  for (let step = previous.get(target); step !== undefined; step = previous.get(step)) path.unshift(step);
  return path;
}

/** Finds a dependency path start →…→ target (following depends_on), or null. */
async function dependencyPath(db: BacklogDb, start: string, target: string): Promise<string[] | null> {
  if (start === target) return [start];
  const edges = await reachable(db, start);
  const previous = new Map<string, string>();
  const queue = [start];
  const seen = new Set(queue);
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    for (const next of edges.get(at) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      previous.set(next, at);
      if (next === target) return pathTo(previous, target);
      queue.push(next);
    }
  }
  return null;
}

/** Refuses a cycle that `id depends on deps` would close: BacklogError('cycle') naming it "A → B → A". */
export async function assertNoCycle(db: BacklogDb, id: string, deps: readonly string[]): Promise<void> {
  for (const dep of deps) {
    if (dep === id) throw new BacklogError('cycle', `card ${id} cannot depend on itself (${id} → ${id})`);
    const path = await dependencyPath(db, dep, id);
    if (path) throw new BacklogError('cycle', `dependency cycle refused: ${[id, ...path].join(' → ')}`);
  }
}
