/**
 * Backlog acceptance suite (docs/backlog.md), run against BOTH tiers: real PGlite (copied template
 * data dir) and real PostgreSQL (the run's throwaway cluster, one database per file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BacklogError } from '../../backlog/types.js';
import type { BacklogService } from '../../backlog/service.js';
import { parseNorthStar, readNorthStarFile } from '../../backlog/north-star.js';
import { packageRoot } from '../../lib/version.js';
import { embeddedTier, tierFactories, type TierHandle } from './tiers.js';
import { at } from '../helpers/must.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof BacklogError) return error.code;
    throw error;
  }
  return 'no error';
}

async function messageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}

/**
 * The file's embedded tier, opened on first use and closed after all: the suite on it and the
 * schema check below share one copied data dir and one PGlite start (reset between the suite's tests).
 */
let embedded: Promise<TierHandle> | null = null;
const embeddedOnce = (): Promise<TierHandle> => (embedded ??= embeddedTier());
afterAll(async () => {
  await (await embedded)?.close();
});

const factories = tierFactories().map(([name, factory]): [string, () => Promise<TierHandle>] => [name, factory === embeddedTier ? embeddedOnce : factory]);

describe.each(factories)('backlog service — %s', (_name, factory) => {
  let tier: TierHandle;
  let svc: BacklogService;

  beforeAll(async () => {
    tier = await factory();
    svc = await tier.service();
  });
  afterAll(async () => {
    if (factory !== embeddedOnce) await tier?.close();
  });
  beforeEach(async () => {
    await tier.reset();
  });

  it('creates and lists cards by priority, then age', async () => {
    await svc.create({ id: 'low', title: 'low one', priority: 1 });
    await svc.create({ id: 'high', title: 'high one', priority: 9, phase: 'M1', body: 'line 1\nline 2', acceptance: ['tests pass'] });
    await svc.create({ id: 'low2', title: 'low two', priority: 1 });
    const cards = await svc.list();
    expect(cards.map((c) => c.id)).toEqual(['high', 'low', 'low2']);
    const high = await svc.get('high');
    expect(high).toMatchObject({ status: 'ready', phase: 'M1', body: 'line 1\nline 2', acceptance: ['tests pass'], attempts: 0, claimOwner: null });
    expect(await codeOf(svc.get('nope'))).toBe('not_found');
  });

  it('create with a repeated idempotency key returns the existing card; a repeated id without it conflicts', async () => {
    const first = await svc.create({ id: 'k1', title: 'first', idempotencyKey: 'key-1' });
    const again = await svc.create({ id: 'k1-other', title: 'second try', idempotencyKey: 'key-1' });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.card.id).toBe('k1');
    expect(again.card.title).toBe('first');
    expect(await codeOf(svc.create({ id: 'k1', title: 'dup' }))).toBe('conflict');
    expect((await svc.list()).length).toBe(1);
    expect((await svc.events({ cardId: 'k1' })).filter((e) => e.verb === 'create').length).toBe(1);
  });

  it('create names dependencies that are no card yet (allowed; the card waits until they exist and are done)', async () => {
    await svc.create({ id: 'base', title: 'b' });
    const r = await svc.create({ id: 'dep', title: 'd', dependsOn: ['base', 'later', 'also-later'] });
    expect(r).toMatchObject({ created: true, missingDependencies: ['also-later', 'later'] });
    expect((await svc.create({ id: 'solo', title: 's' })).missingDependencies).toEqual([]);
    expect(await codeOf(svc.claim({ owner: 'w', id: 'dep' }))).toBe('conflict'); // "waits on … later (missing)"
    await svc.create({ id: 'later', title: 'l' });
    await svc.create({ id: 'also-later', title: 'a' });
    for (const id of ['base', 'later', 'also-later']) await svc.complete({ id });
    expect((await svc.claim({ owner: 'w', id: 'dep' })).card?.id).toBe('dep');
  });

  it('refuses bad input with invalid and loses nothing', async () => {
    expect(await codeOf(svc.create({ id: 'has space', title: 't' }))).toBe('invalid');
    expect(await codeOf(svc.create({ id: 'ok', title: '' }))).toBe('invalid');
    expect(await codeOf(svc.create({ id: 'ok', title: 'bell \u0007' }))).toBe('invalid');
    expect(await codeOf(svc.create({ id: 'ok', title: 't', priority: 1.5 }))).toBe('invalid');
    expect(await codeOf(svc.claim({ owner: 'w', ttlSeconds: 0 }))).toBe('invalid');
    expect(await svc.list()).toEqual([]);
  });

  it('filters by status, phase and ready-only (deps done)', async () => {
    await svc.create({ id: 'a', title: 'a', phase: 'p1', priority: 5 });
    await svc.create({ id: 'b', title: 'b', phase: 'p2', dependsOn: ['a'], priority: 9 });
    await svc.create({ id: 'c', title: 'c', phase: 'p1' });
    await svc.block({ id: 'c' });
    expect((await svc.list({ phase: 'p1' })).map((c) => c.id)).toEqual(['a', 'c']);
    expect((await svc.list({ status: 'blocked' })).map((c) => c.id)).toEqual(['c']);
    expect((await svc.list({ readyOnly: true })).map((c) => c.id)).toEqual(['a']);
    await svc.complete({ id: 'a' });
    expect((await svc.list({ readyOnly: true })).map((c) => c.id)).toEqual(['b']);
    expect(await codeOf(svc.list({ status: 'weird' as never }))).toBe('invalid');
  });

  it('claims in priority order, oldest first within a priority, with TTL, token and attempts', async () => {
    await svc.create({ id: 'p1-old', title: 't', priority: 1 });
    await svc.create({ id: 'p5', title: 't', priority: 5 });
    await svc.create({ id: 'p1-new', title: 't', priority: 1 });
    const a = (await svc.claim({ owner: 'w1' })).card;
    const b = (await svc.claim({ owner: 'w2', ttlSeconds: 60 })).card;
    const c = (await svc.claim({ owner: 'w3' })).card;
    expect([a?.id, b?.id, c?.id]).toEqual(['p5', 'p1-old', 'p1-new']);
    expect(a).toMatchObject({ status: 'claimed', claimOwner: 'w1', claimTtlSeconds: 900, attempts: 1 });
    expect(b?.claimTtlSeconds).toBe(60);
    expect(b!.secondsLeft!).toBeGreaterThan(50);
    expect(b!.secondsLeft!).toBeLessThanOrEqual(60);
    expect(a!.claimToken!).toBeLessThan(b!.claimToken!);
    expect(b!.claimToken!).toBeLessThan(c!.claimToken!);
    expect((await svc.claim({ owner: 'w4' })).card).toBeNull();
  });

  it('claims a given card by id, and refuses one that is not claimable', async () => {
    await svc.create({ id: 'x', title: 'x', priority: 1 });
    await svc.create({ id: 'y', title: 'y', priority: 9 });
    await svc.create({ id: 'z', title: 'z', dependsOn: ['x'] });
    expect((await svc.claim({ owner: 'w', id: 'x' })).card?.id).toBe('x');
    expect(await codeOf(svc.claim({ owner: 'w2', id: 'x' }))).toBe('conflict');
    expect(await messageOf(svc.claim({ owner: 'w2', id: 'x' }))).toMatch(/already claimed by w/);
    expect(await codeOf(svc.claim({ owner: 'w2', id: 'z' }))).toBe('conflict');
    expect(await messageOf(svc.claim({ owner: 'w2', id: 'z' }))).toMatch(/waits on x \(claimed\)/);
    expect(await codeOf(svc.claim({ owner: 'w2', id: 'missing' }))).toBe('not_found');
  });

  it('gates on dependencies: a card is claimable only once every dependency is done', async () => {
    await svc.create({ id: 'A1', title: 'schema', priority: 5 });
    await svc.create({ id: 'A2', title: 'service', priority: 9, dependsOn: ['A1'] });
    await svc.create({ id: 'A3', title: 'needs a ghost', priority: 99, dependsOn: ['ghost'] });
    const first = (await svc.claim({ owner: 'w' })).card;
    expect(first?.id).toBe('A1');
    expect((await svc.claim({ owner: 'w' })).card).toBeNull();
    await svc.complete({ id: 'A1', owner: 'w', token: first!.claimToken! });
    expect((await svc.claim({ owner: 'w' })).card?.id).toBe('A2');
  });

  it('exactly one of two concurrent claimers wins the single ready card', async () => {
    await svc.create({ id: 'only', title: 'the one' });
    const [s1, s2] = [await tier.service(), await tier.service()];
    const results = await Promise.all([s1.claim({ owner: 'c1' }), s2.claim({ owner: 'c2' })]);
    const winners = results.filter((r) => r.card !== null);
    expect(winners.length).toBe(1);
    const card = await svc.get('only');
    expect(card.claimOwner).toBe(at(winners, 0).card!.claimOwner);
    expect(card.attempts).toBe(1);
    expect((await svc.events({ cardId: 'only' })).filter((e) => e.verb === 'claim').length).toBe(1);
  });

  it('N concurrent claimers on N ready cards all win, each a distinct card', async () => {
    const n = 8;
    for (let i = 0; i < n; i += 1) await svc.create({ id: `card-${i}`, title: `card ${i}`, priority: i % 3 });
    const services = await Promise.all(Array.from({ length: n }, () => tier.service()));
    const results = await Promise.all(services.map((s, i) => s.claim({ owner: `w${i}` })));
    const ids = results.map((r) => r.card?.id);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(n);
    const stats = await svc.stats();
    expect(stats.counts).toEqual({ ready: 0, claimed: n, blocked: 0, done: 0 });
  });

  it('reclaims expired claims, leaves fresh ones, and forces one by id', async () => {
    await svc.create({ id: 'stale', title: 's' });
    await svc.create({ id: 'fresh', title: 'f' });
    await svc.claim({ owner: 'w1', id: 'stale', ttlSeconds: 60 });
    await svc.claim({ owner: 'w2', id: 'fresh', ttlSeconds: 600 });
    await tier.exec(`UPDATE backlog SET claimed_at = now() - interval '61 seconds' WHERE id = 'stale'`);
    expect((await svc.stats()).expiredClaimCount).toBe(1);
    expect(await svc.reclaim()).toEqual({ reclaimed: ['stale'] });
    expect(await svc.get('stale')).toMatchObject({ status: 'ready', claimOwner: null, claimedAt: null });
    expect((await svc.get('fresh')).status).toBe('claimed');
    expect(await svc.reclaim()).toEqual({ reclaimed: [] });
    expect(await svc.reclaim({ id: 'fresh' })).toEqual({ reclaimed: ['fresh'] });
    expect((await svc.get('fresh')).status).toBe('ready');
    expect(await codeOf(svc.reclaim({ id: 'missing' }))).toBe('not_found');
    const again = (await svc.claim({ owner: 'w3', id: 'stale' })).card;
    expect(again?.attempts).toBe(2);
  });

  it("reclaim by id with an owner releases only that owner's claim, never a newer one", async () => {
    await svc.create({ id: 'x', title: 'x' });
    await svc.claim({ owner: 'w1', id: 'x' });
    await svc.reclaim({ id: 'x' });
    await svc.claim({ owner: 'w2', id: 'x' }); // the card changed hands since w1's claim was seen
    expect(await svc.reclaim({ id: 'x', owner: 'w1', actor: 'operator:ops' })).toEqual({ reclaimed: [] });
    expect(await svc.get('x')).toMatchObject({ status: 'claimed', claimOwner: 'w2' });
    expect(await svc.reclaim({ id: 'x', owner: 'w2', actor: 'operator:ops' })).toEqual({ reclaimed: ['x'] });
    expect(await svc.get('x')).toMatchObject({ status: 'ready', claimOwner: null });
    const [last] = await svc.events({ cardId: 'x', limit: 1 });
    expect(last).toMatchObject({ actor: 'operator:ops', verb: 'reclaim', detail: { previousOwner: 'w2', forced: true } });
    expect(await codeOf(svc.reclaim({ id: 'x', owner: 'bad\u001bowner' }))).toBe('invalid');
  });

  it('stats: counts per status, oldest-ready age in seconds, expired claims, ready cards waiting on dependencies', async () => {
    expect(await svc.stats()).toEqual({
      counts: { ready: 0, claimed: 0, blocked: 0, done: 0 },
      total: 0,
      oldestReadyAgeSeconds: null,
      expiredClaimCount: 0,
      waitingOnDeps: 0,
    });
    await svc.create({ id: 'r1', title: 'r' });
    await svc.create({ id: 'r2', title: 'r' });
    await svc.create({ id: 'c1', title: 'c' });
    await svc.create({ id: 'b1', title: 'b' });
    await svc.create({ id: 'd1', title: 'd' });
    await tier.exec(`UPDATE backlog SET created_at = now() - interval '300 seconds' WHERE id = 'r1'`);
    await svc.claim({ owner: 'w', id: 'c1' });
    await svc.block({ id: 'b1' });
    await svc.complete({ id: 'd1' });
    const s = await svc.stats();
    expect(s.counts).toEqual({ ready: 2, claimed: 1, blocked: 1, done: 1 });
    expect(s.total).toBe(5);
    expect(s.oldestReadyAgeSeconds).toBeGreaterThanOrEqual(299);
    expect(s.oldestReadyAgeSeconds).toBeLessThan(400);
    expect(s.expiredClaimCount).toBe(0);
    expect(s.waitingOnDeps).toBe(0);
    // A ready card whose dependency is not done counts as ready AND waiting (not claimable).
    await svc.create({ id: 'w1', title: 'w', dependsOn: ['r2'] });
    expect(await svc.stats()).toMatchObject({ counts: { ready: 3 }, waitingOnDeps: 1 });
    expect((await svc.overview()).ready.map((c) => c.id)).not.toContain('w1');
    await svc.complete({ id: 'r2' });
    expect(await svc.stats()).toMatchObject({ counts: { ready: 2 }, waitingOnDeps: 0 });
  });

  it('link adds an edge; self-edges and cycles are refused with the cycle named', async () => {
    for (const id of ['A', 'B', 'C']) await svc.create({ id, title: id });
    await svc.link({ from: 'A', to: 'B' });
    await svc.link({ from: 'B', to: 'C' });
    expect((await svc.get('A')).dependsOn).toEqual(['B']);
    expect(await codeOf(svc.link({ from: 'C', to: 'A' }))).toBe('cycle');
    expect(await messageOf(svc.link({ from: 'C', to: 'A' }))).toContain('C → A → B → C');
    expect(await codeOf(svc.link({ from: 'A', to: 'A' }))).toBe('cycle');
    expect(await codeOf(svc.link({ from: 'A', to: 'nope' }))).toBe('not_found');
    expect((await svc.get('C')).dependsOn).toEqual([]);
    // a card created with a dependency that would close a cycle is refused and not stored
    await svc.create({ id: 'D', title: 'd', dependsOn: ['E'] });
    expect(await messageOf(svc.create({ id: 'E', title: 'e', dependsOn: ['D'] }))).toContain('E → D → E');
    expect(await codeOf(svc.get('E'))).toBe('not_found');
    // linking an existing edge again is a no-op
    await svc.link({ from: 'A', to: 'B' });
    expect((await svc.get('A')).dependsOn).toEqual(['B']);
  });

  it('fencing: complete/renew by an owner whose claim expired or was replaced is refused', async () => {
    await svc.create({ id: 'f', title: 'fenced' });
    const first = (await svc.claim({ owner: 'w1', ttlSeconds: 60 })).card!;
    // renew extends a live claim
    const renewed = await svc.renew({ id: 'f', owner: 'w1', ttlSeconds: 120, token: first.claimToken! });
    expect(renewed.claimTtlSeconds).toBe(120);
    expect(renewed.secondsLeft!).toBeGreaterThan(100);
    // wrong owner
    expect(await codeOf(svc.renew({ id: 'f', owner: 'intruder' }))).toBe('fenced');
    expect(await codeOf(svc.complete({ id: 'f', owner: 'intruder' }))).toBe('fenced');
    // expired (not yet reclaimed)
    await tier.exec(`UPDATE backlog SET claimed_at = now() - interval '1 hour' WHERE id = 'f'`);
    expect(await messageOf(svc.complete({ id: 'f', owner: 'w1' }))).toMatch(/expired/);
    expect(await codeOf(svc.renew({ id: 'f', owner: 'w1' }))).toBe('fenced');
    // reclaimed and claimed again by someone else (maybe the same name): the old token is fenced
    await svc.reclaim();
    expect(await codeOf(svc.complete({ id: 'f', owner: 'w1' }))).toBe('fenced');
    const second = (await svc.claim({ owner: 'w1' })).card!;
    expect(second.claimToken!).toBeGreaterThan(first.claimToken!);
    expect(await codeOf(svc.complete({ id: 'f', owner: 'w1', token: first.claimToken! }))).toBe('fenced');
    // A stale token and a token never issued get the same truthful answer (nothing claims the
    // token was "replaced": the service does not know whether it ever existed).
    const live = `token (${second.claimToken})`;
    expect(await messageOf(svc.complete({ id: 'f', owner: 'w1', token: first.claimToken! }))).toBe(
      `complete refused for w1 on f: token ${first.claimToken} is not the live claim's ${live}`,
    );
    expect(await messageOf(svc.renew({ id: 'f', owner: 'w1', token: 999 }))).toBe(`renew refused for w1 on f: token 999 is not the live claim's ${live}`);
    expect(await codeOf(svc.renew({ id: 'f', owner: 'w1', token: 999 }))).toBe('fenced');
    expect((await svc.get('f')).status).toBe('claimed');
    const done = await svc.complete({ id: 'f', owner: 'w1', token: second.claimToken!, actualTokens: 1234 });
    expect(done).toMatchObject({ status: 'done', claimOwner: null, actualTokens: 1234 });
    expect(await codeOf(svc.complete({ id: 'missing', owner: 'w1' }))).toBe('not_found');
  });

  it('block parks a card (never claimed) and unblock returns it', async () => {
    await svc.create({ id: 'bk', title: 'b' });
    await svc.claim({ owner: 'w', id: 'bk' });
    const blocked = await svc.block({ id: 'bk', reason: 'waiting on vendor' });
    expect(blocked).toMatchObject({ status: 'blocked', claimOwner: null });
    expect((await svc.claim({ owner: 'w' })).card).toBeNull();
    expect((await svc.unblock({ id: 'bk' })).status).toBe('ready');
    await svc.complete({ id: 'bk' });
    expect(await codeOf(svc.block({ id: 'bk' }))).toBe('conflict');
    expect(await codeOf(svc.unblock({ id: 'bk' }))).toBe('conflict');
  });

  it('claim is refused while the fleet is PAUSED, naming since when and by whom', async () => {
    await svc.create({ id: 'p', title: 'p' });
    fs.writeFileSync(path.join(tier.runDir, 'PAUSED'), 'at=2026-11-21T17:00:00Z\nby=operator\nreason=deploy\n');
    expect(await codeOf(svc.claim({ owner: 'w' }))).toBe('paused');
    expect(await messageOf(svc.claim({ owner: 'w' }))).toMatch(/PAUSED since 2026-11-21T17:00:00Z by operator: deploy/);
    expect((await svc.get('p')).status).toBe('ready');
    fs.rmSync(path.join(tier.runDir, 'PAUSED'));
    expect((await svc.claim({ owner: 'w' })).card?.id).toBe('p');
  });

  it('imports NORTH_STAR.yaml goals idempotently with priorities and dependencies', async () => {
    const goals = await readNorthStarFile(path.join(packageRoot(), 'backlog', 'fixtures', 'NORTH_STAR.yaml'));
    expect(goals.length).toBe(14);
    const first = await svc.importGoals({ goals, source: 'fixture' });
    expect(first.created.length).toBe(14);
    const second = await svc.importGoals({ goals, source: 'fixture' });
    expect(second).toEqual({ created: [], updated: [], unchanged: goals.map((g) => g.id) });
    expect((await svc.stats()).total).toBe(14);
    const b2 = await svc.get('B2');
    expect(b2.dependsOn).toEqual(['A3b', 'B1']);
    const a4 = await svc.get('A4');
    const a3a = await svc.get('A3a');
    expect(a3a.priority).toBeGreaterThan(a4.priority); // must-have above should-have
    expect((await svc.claim({ owner: 'w' })).card?.id).toBe('A1');
    expect((await svc.events({ limit: 100 })).filter((e) => e.verb === 'import').length).toBe(14);
  });

  it('rejects a NORTH_STAR document without goals, naming the file', async () => {
    await expect(parseNorthStar('version: 1\n', 'x.yaml')).rejects.toThrow(/x\.yaml: no "goals:"/);
    await expect(parseNorthStar('goals: [ {id: A1, title: t, priority: urgent} ]', 'x.yaml')).rejects.toThrow(/unknown priority/);
  });

  it('writes an event for every change, and records caller events', async () => {
    await svc.create({ id: 'e', title: 'e' });
    await svc.create({ id: 'e0', title: 'e0' });
    await svc.link({ from: 'e', to: 'e0' });
    await svc.complete({ id: 'e0' });
    const claimed = (await svc.claim({ owner: 'agent1' })).card!;
    await svc.renew({ id: 'e', owner: 'agent1' });
    await svc.recordEvent({ actor: 'operator:mosaic-top', verb: 'receipt', cardId: 'e', detail: { status: 'submitted', agent: 'agent1' } });
    await svc.reclaim({ id: 'e' });
    await svc.block({ id: 'e' });
    await svc.unblock({ id: 'e' });
    const verbs = (await svc.events({ cardId: 'e' })).map((ev) => ev.verb);
    expect(verbs).toEqual(['unblock', 'block', 'reclaim', 'receipt', 'renew', 'claim', 'link', 'create']);
    const claimEvent = (await svc.events({ cardId: 'e' })).find((ev) => ev.verb === 'claim')!;
    expect(claimEvent.actor).toBe('agent1');
    expect(claimEvent.detail).toMatchObject({ owner: 'agent1', token: claimed.claimToken, ttlSeconds: 900 });
    expect((await svc.events({ limit: 2 })).length).toBe(2);
  });

  it('ready-only and claim follow the dependencies in the store, whoever completed them', async () => {
    const goals = await readNorthStarFile(path.join(packageRoot(), 'backlog', 'fixtures', 'NORTH_STAR.yaml'));
    await svc.create({ id: 'Z1', title: 'needs a card created later', dependsOn: ['Z2', 'A1'] });
    await svc.importGoals({ goals });
    await svc.create({ id: 'Z2', title: 'late' });
    await svc.link({ from: 'H4', to: 'Z2' });
    await svc.complete({ id: 'A1' });
    await svc.complete({ id: 'A1' }); // twice: a no-op, no double decrement
    await svc.complete({ id: 'H1' }); // out of order (its dependency A1 is done anyway)
    await svc.link({ from: 'B3b', to: 'A1' }); // edge to a done card adds nothing
    await svc.complete({ id: 'Z2' });
    const claimed = (await svc.claim({ owner: 'w' })).card!;
    await svc.complete({ id: claimed.id, owner: 'w' });
    // A dependency completed by upstream's CLI (a plain UPDATE of status) frees its dependents too.
    await tier.exec(`UPDATE backlog SET status = 'done', updated_at = now() WHERE id = 'A2'`);
    const drift = await (async () => {
      const all = await svc.list();
      const status = new Map(all.map((c) => [c.id, c.status]));
      const ready = await svc.list({ readyOnly: true });
      const truth = all
        .filter((c) => c.status === 'ready' && c.dependsOn.every((d) => status.get(d) === 'done'))
        .map((c) => c.id)
        .sort();
      return { truth, ready: ready.map((c) => c.id).sort() };
    })();
    expect(drift.ready).toEqual(drift.truth);
    expect(drift.ready).toContain('Z1');
    expect(drift.ready).toContain('H2');
    expect(drift.ready).toContain('A3a');
  });

  it('overview: stats, claimed cards soonest-expiry first, top ready cards', async () => {
    for (let i = 0; i < 15; i += 1) await svc.create({ id: `o${i}`, title: `o${i}`, priority: i });
    await svc.claim({ owner: 'a', ttlSeconds: 600 });
    await svc.claim({ owner: 'b', ttlSeconds: 60 });
    const o = await svc.overview({ readyLimit: 5 });
    expect(o.claimed.map((c) => c.claimOwner)).toEqual(['b', 'a']);
    expect(o.ready.map((c) => c.id)).toEqual(['o12', 'o11', 'o10', 'o9', 'o8']);
    expect(o.stats.counts.claimed).toBe(2);
  });
});

describe('drizzle schema mirrors the SQL migrations', () => {
  it('every table and column in backlog/schema.ts exists after migrating, and no column is missing from it', async () => {
    const { getTableColumns, getTableName } = await import('drizzle-orm');
    const { backlogCards, backlogEvents, backlogMigrations } = await import('../../backlog/schema.js');
    const tier = await embeddedOnce();
    const { backlogFleetPause } = await import('../../backlog/schema.js');
    for (const table of [backlogCards, backlogEvents, backlogMigrations, backlogFleetPause]) {
      const name = getTableName(table);
      const declared = Object.values(getTableColumns(table))
        .map((c) => (c as { name: string }).name)
        .sort();
      const actual = (await tier.columns(name)).sort();
      expect(actual, name).toEqual(declared);
    }
  });
});
