/**
 * Reads a NORTH_STAR.yaml in upstream's layout (seed 002: `goals:` with id, title, phase,
 * priority must-have/should-have, depends_on) into cards-to-be. Workstream titles
 * (`workstreams:`, keyed by the goal id's leading letter) become the card body. The demo's own
 * goal list is backlog/fixtures/NORTH_STAR.yaml.
 */
import { BoundedReadError, readBoundedFile } from '../lib/bounded-read.js';
import { messageOf } from '../lib/errors.js';
import { BacklogError, type NorthStarGoal } from './types.js';

/** The first line of an error's message (a thrown non-Error: its {@link messageOf} line). */
function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : messageOf(error);
}

/** Card priority per NORTH_STAR priority word (higher = sooner); numbers pass through. */
export const NORTH_STAR_PRIORITIES: Record<string, number> = {
  'must-have': 100,
  'should-have': 50,
  'could-have': 20,
  'nice-to-have': 20,
  'wont-have': 0,
  "won't-have": 0,
};

/**
 * Maps a NORTH_STAR priority (word or number) to a card priority. Goals in earlier phases rank
 * a little higher within the same word, so phase 1 work is claimed before phase 2.
 * Throws BacklogError('invalid') on an unknown word.
 */
export function northStarPriority(value: unknown, phase: string | null, goalId: string): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  const word = String(value ?? 'should-have')
    .trim()
    .toLowerCase();
  const base = NORTH_STAR_PRIORITIES[word];
  if (base === undefined) {
    throw new BacklogError(
      'invalid',
      `goal ${goalId}: unknown priority ${JSON.stringify(value)} (expected ${Object.keys(NORTH_STAR_PRIORITIES).join(', ')} or an integer)`,
    );
  }
  const phaseNumber = phase !== null && /^\d+$/.test(phase) ? Number(phase) : 0;
  return base - Math.min(phaseNumber, 9);
}

/**
 * Parses NORTH_STAR.yaml text into goals. Throws BacklogError('invalid') naming the file (and
 * line for YAML syntax errors) when the text is not a NORTH_STAR document, when its aliases
 * expand too far (an alias bomb), and naming every goal id that occurs more than once.
 */
export async function parseNorthStar(text: string, file = 'NORTH_STAR.yaml'): Promise<NorthStarGoal[]> {
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  const e = doc.errors[0];
  if (e) {
    const where = e.linePos?.[0] ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
    throw new BacklogError('invalid', `${file}${where}: ${e.message.split('\n')[0]}`);
  }
  let root: Record<string, unknown> | null;
  try {
    // yaml refuses a document whose aliases expand too far (an "alias bomb", maxAliasCount).
    root = doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown> | null;
  } catch (error) {
    // yaml's messages go on with a code excerpt: its first line is the cause.
    throw new BacklogError('invalid', `${file}: ${firstLine(error)}`);
  }
  if (!root || typeof root !== 'object' || !Array.isArray(root.goals)) {
    throw new BacklogError('invalid', `${file}: no "goals:" list (is this a NORTH_STAR.yaml?)`);
  }
  const workstreams = new Map<string, string>();
  if (Array.isArray(root.workstreams)) {
    for (const w of root.workstreams as Array<Record<string, unknown>>) {
      if (w && typeof w.id === 'string' && typeof w.title === 'string') workstreams.set(w.id, w.title);
    }
  }
  const goals = (root.goals as unknown[]).map((raw, index) => {
    const g = raw as Record<string, unknown>;
    if (!g || typeof g !== 'object' || typeof g.id !== 'string' || !g.id) throw new BacklogError('invalid', `${file}: goal #${index + 1} has no id`);
    if (typeof g.title !== 'string' || !g.title.trim()) throw new BacklogError('invalid', `${file}: goal ${g.id} has no title`);
    const phase = g.phase === undefined || g.phase === null ? null : String(g.phase);
    const deps = g.depends_on ?? g.dependsOn ?? [];
    if (!Array.isArray(deps)) throw new BacklogError('invalid', `${file}: goal ${g.id}: depends_on must be a list`);
    const stream = workstreams.get(/^[A-Za-z]+/.exec(g.id)?.[0] ?? '');
    return {
      id: g.id,
      title: g.title.trim(),
      phase,
      priority: northStarPriority(g.priority, phase, g.id),
      dependsOn: deps.map(String),
      body: stream ? `NORTH_STAR goal ${g.id} — workstream: ${stream}` : `NORTH_STAR goal ${g.id}`,
    };
  });
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const g of goals) (seen.has(g.id) ? duplicates : seen).add(g.id);
  if (duplicates.size) {
    throw new BacklogError('invalid', `${file}: duplicate goal id${duplicates.size > 1 ? 's' : ''} ${[...duplicates].join(', ')} (each goal needs its own id)`);
  }
  return goals;
}

/** Most bytes of a NORTH_STAR.yaml read (thousands of goals fit). */
export const NORTH_STAR_READ_LIMIT = 4 * 1024 * 1024;

/**
 * Reads and parses a NORTH_STAR.yaml file through {@link readBoundedFile} (regular files only,
 * non-blocking, at most {@link NORTH_STAR_READ_LIMIT} bytes); throws BacklogError
 * 'not_found' (no such file) or 'invalid' (a FIFO, a device, a directory, too large,
 * unreadable, not a NORTH_STAR document), naming the file.
 */
export async function readNorthStarFile(file: string): Promise<NorthStarGoal[]> {
  let text: string;
  try {
    const read = readBoundedFile(file, { maxBytes: NORTH_STAR_READ_LIMIT });
    if (!read) throw new BacklogError('not_found', `cannot read ${file}: no such file`);
    text = read.bytes.toString('utf8');
  } catch (error) {
    if (error instanceof BacklogError) throw error;
    throw new BacklogError('invalid', `cannot read ${error instanceof BoundedReadError ? error.message : messageOf(error, file)}`);
  }
  return parseNorthStar(text, file);
}
