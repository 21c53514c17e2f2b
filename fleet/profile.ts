/**
 * Fleet profiles: which roles a fleet must keep staffed (its floor) and which role leads it.
 * Upstream's system-type profiles (seed 002, `fleet/profiles/<id>.yaml`) carry `lead:` (the
 * coordinating class) and `floor:` (the classes that must stay staffed); a roster may name one
 * (`profile: research`) or spell its floor out (`floor:`). Without either, upstream's two-agent
 * floor applies: at least one orchestrator and one enhancer, led by the orchestrator.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readBoundedFile } from '../lib/bounded-read.js';
import { yaml } from '../lib/yaml.js';
import { messageOf } from '../lib/errors.js';

/** One floor entry: at least `min` agents of `class` must be working or available. */
export interface FloorRequirement {
  class: string;
  min: number;
}

/** A resolved profile. */
export interface FleetProfile {
  /** Profile id (`software-delivery`, `research`, …), `custom` for a roster `floor:`, `default` otherwise. */
  id: string;
  /** The coordinating class (upstream: exactly one per fleet); null when the profile names none. */
  lead: string | null;
  floor: FloorRequirement[];
  /** Where it came from: `roster floor:`, a profile file's path, `built-in`, or `default`. */
  source: string;
}

/** Upstream's two-agent floor (orchestrator ≥ 1, enhancer ≥ 1), led by the orchestrator. */
export const DEFAULT_PROFILE: FleetProfile = {
  id: 'default',
  lead: 'orchestrator',
  floor: [
    { class: 'orchestrator', min: 1 },
    { class: 'enhancer', min: 1 },
  ],
  source: 'default',
};

/**
 * Leads and floors of upstream's shipped system-type profiles (seed 002), used when no profile
 * file `<home>/fleet/profiles/<id>.yaml` exists on this host.
 */
export const BUILTIN_PROFILES: Readonly<Record<string, { lead: string; floor: string[] }>> = {
  'software-delivery': { lead: 'orchestrator', floor: ['orchestrator', 'enhancer'] },
  research: { lead: 'lead-researcher', floor: ['lead-researcher'] },
  business: { lead: 'ceo', floor: ['ceo'] },
  marketing: { lead: 'marketing-lead', floor: ['marketing-lead'] },
  'personal-assistant': { lead: 'personal-assistant', floor: ['personal-assistant'] },
};

const CLASS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * Reads a floor as upstream writes it (a list of classes; a class listed twice needs two) or
 * with counts (`- { class: code, min: 2 }`, or a mapping `code: 2`). Returns the requirements
 * (one per class, counts summed) or an error message. Pure.
 */
export function floorFromValue(value: unknown): FloorRequirement[] | string {
  const counts = new Map<string, number>();
  const add = (cls: unknown, min: unknown): string | null => {
    if (typeof cls !== 'string' || !CLASS_NAME.test(cls)) return `floor class must be a role name, got ${JSON.stringify(cls)}`;
    if (typeof min !== 'number' || !Number.isInteger(min) || min < 0 || min > 1000)
      return `floor count of ${cls} must be a whole number from 0 to 1000, got ${JSON.stringify(min)}`;
    counts.set(cls, (counts.get(cls) ?? 0) + min);
    return null;
  };
  if (Array.isArray(value)) {
    for (const item of value) {
      const error =
        item && typeof item === 'object' && !Array.isArray(item)
          ? add((item as Record<string, unknown>).class, (item as Record<string, unknown>).min ?? (item as Record<string, unknown>).count ?? 1)
          : add(item, 1);
      if (error) return error;
    }
  } else if (value && typeof value === 'object') {
    for (const [cls, min] of Object.entries(value as Record<string, unknown>)) {
      const error = add(cls, min);
      if (error) return error;
    }
  } else {
    return 'floor must be a list of classes (or of {class, min}), or a mapping class: count';
  }
  return [...counts].map(([cls, min]) => ({ class: cls, min }));
}

/** Parsed profile files by path, kept while their mtime and size are unchanged. */
/** Largest profile file read, bytes. */
const PROFILE_READ_LIMIT = 256 * 1024;

const fileCache = new Map<string, { key: string; result: FleetProfile | string }>();

/**
 * Reads upstream's profile file (`lead:`, `floor:`; other keys ignored). Returns the profile or
 * an error message naming the file. Cached by mtime and size (the console calls it every tick).
 */
export function loadProfileFile(file: string, id: string): FleetProfile | string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (error) {
    return `${file}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`;
  }
  const key = `${st.mtimeMs}:${st.size}`;
  const cached = fileCache.get(file);
  if (cached && cached.key === key) return cached.result;
  let result: FleetProfile | string;
  try {
    // The one bounded open: a FIFO or a device planted as the profile never blocks a tick.
    const read = readBoundedFile(file, { maxBytes: PROFILE_READ_LIMIT });
    if (!read) throw new Error('no such file (ENOENT)');
    const doc = yaml().parse(read.bytes.toString('utf8')) as Record<string, unknown> | null;
    if (!doc || typeof doc !== 'object') result = `${file}: a profile must be a mapping with lead: and floor:`;
    else {
      const floor = doc.floor === undefined ? [] : floorFromValue(doc.floor);
      const lead = typeof doc.lead === 'string' && doc.lead ? doc.lead : null;
      result = typeof floor === 'string' ? `${file}: ${floor}` : { id, lead, floor, source: file };
    }
  } catch (error) {
    result = `${file}: ${messageOf(error instanceof Error ? (error.message.split('\n')[0] ?? '') : error)}`;
  }
  fileCache.set(file, { key, result });
  return result;
}

/**
 * The profile a roster asks for. Precedence: the roster's own `floor:` (with `profile:`'s lead,
 * if any), then the profile file `<profilesDir>/<id>.yaml`, then upstream's built-in profile of
 * that id, then {@link DEFAULT_PROFILE}. An unknown profile id or a broken profile file gives
 * the default with `error` set (shown by the console; the floor is still checked).
 */
export function resolveFleetProfile(
  roster: { profile?: string | null; floor?: FloorRequirement[] | null },
  profilesDir: string | null,
): { profile: FleetProfile; error: string | null } {
  const id = roster.profile ?? null;
  let base: FleetProfile | null = null;
  let error: string | null = null;
  if (id) {
    const safe = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id);
    const file = safe && profilesDir ? path.join(profilesDir, `${id}.yaml`) : null;
    if (file && fs.existsSync(file)) {
      const loaded = loadProfileFile(file, id);
      if (typeof loaded === 'string') error = loaded;
      else base = loaded;
    }
    if (!base && !error) {
      const builtin = BUILTIN_PROFILES[id];
      if (builtin) base = { id, lead: builtin.lead, floor: floorFromValue(builtin.floor) as FloorRequirement[], source: 'built-in' };
      else
        error = `unknown fleet profile "${id}" (no ${profilesDir ? path.join(profilesDir, `${id}.yaml`) : 'profile file'}; built in: ${Object.keys(BUILTIN_PROFILES).join(', ')})`;
    }
  }
  if (roster.floor) {
    const lead = base?.lead ?? (roster.floor.some((f) => f.class === 'orchestrator') ? 'orchestrator' : null);
    return { profile: { id: base?.id ?? id ?? 'custom', lead, floor: roster.floor, source: 'roster floor:' }, error };
  }
  return { profile: base ?? DEFAULT_PROFILE, error };
}
