/**
 * `/api/events` with a client that stops reading its socket: the server's routes
 * (src/serve/app.ts) on a real @hono/node-server over 127.0.0.1, fed by a hub whose ticks the
 * test drives, each tick carrying a 64 KB transition. The slow client is a raw TCP socket that
 * reads the response headers and then never reads again; three fetch readers take every event.
 * Once the kernel buffers and the node writable are full, the slow client's batches pile up and
 * it is dropped (its socket closed, its slot freed) while the others get every tick, in order,
 * without stalling: the hub's tick never waits on a client.
 */
import type { Server } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { serve } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../lib/paths.js';
import { parseListen } from '../../src/serve/access.js';
import { createServeApp, type ServeApp } from '../../src/serve/app.js';
import type { FleetHub, HubTick } from '../../src/serve/hub.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import type { Transition } from '../../src/transitions/diff.js';
import { waitFor } from '../helpers/tmux.js';

const TOKEN = 'a'.repeat(43);

/** A hub whose ticks the test emits; only what the event stream reads is real. */
function drivenHub(): { hub: FleetHub; emit: (seq: number) => void; listeners: () => number } {
  const listeners = new Set<(tick: HubTick) => void>();
  let current: HubTick | null = null;
  const hub = {
    current: () => current,
    recentTransitions: () => [],
    transitionCounts: new Map<string, number>(),
    onTick(l: (tick: HubTick) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    refresh: () => {},
    ready: () => Promise.resolve(true),
    stop: () => Promise.resolve(),
  } as unknown as FleetHub;
  const emit = (seq: number) => {
    const t: Transition = {
      schema: 'mosaic-top/transition@1',
      kind: 'readiness',
      scope: 'agent',
      agent: `a${seq}`,
      host: null,
      from: 'idle',
      to: 'busy',
      at: new Date().toISOString(),
      evidence: [`seq ${seq}`, 'x'.repeat(64 * 1024)],
      attention: false,
    } as Transition;
    current = { snapshot: {} as Snapshot, transitions: [t], durationSeconds: 0, seq };
    for (const l of listeners) l(current);
  };
  return { hub, emit, listeners: () => listeners.size };
}

/** A fetch reader of `/api/events`: the `seq` of every event it got, in order. */
function reader(url: string, signal: AbortSignal): { seqs: number[]; done: Promise<void> } {
  const seqs: number[] = [];
  const done = (async () => {
    const res = await fetch(`${url}/api/events`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal });
    expect(res.status).toBe(200);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (data) seqs.push(Number(/"seq (\d+)"/.exec(data)?.[1]));
      }
    }
  })().catch((error: Error) => {
    if (error.name !== 'AbortError' && !signal.aborted) throw error;
  });
  return { seqs, done };
}

describe('serve: a slow event-stream client is dropped without stalling the others', () => {
  let server: Server | null = null;
  let served: ServeApp | null = null;
  afterEach(async () => {
    served?.closeStreams();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = null;
    served = null;
  });

  it('a socket that stops reading is dropped; three readers get every tick in order before and after', async () => {
    const { hub, emit, listeners } = drivenHub();
    const paths = resolvePaths({ mosaicHome: os.tmpdir() });
    const app = createServeApp({ hub, paths, token: TOKEN, tokenFile: '/nonexistent', listen: parseListen('127.0.0.1:0'), readOnly: true, metricsOpen: false });
    served = app;
    const s = serve({ fetch: app.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    server = s;
    await new Promise<void>((resolve) => (s.listening ? resolve() : s.once('listening', () => resolve())));
    const port = (s.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;

    // The slow client: headers read, then the socket is never read again.
    const slow = net.connect(port, '127.0.0.1');
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    slow.on('error', () => {});
    slow.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nAccept: text/event-stream\r\n\r\n`);
    const head = await new Promise<string>((resolve) => slow.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    slow.pause();

    const abort = new AbortController();
    const fast = [reader(url, abort.signal), reader(url, abort.signal), reader(url, abort.signal)];
    await waitFor(() => listeners() === 4 && app.streams() === 4, 'four event streams subscribed', { timeoutMs: 10_000 });

    // One tick at a time, each taken by every fast reader before the next; until the slow one
    // is dropped (bounded: 64 KB a tick, 4000 ticks = 256 MB would never fit in socket buffers).
    let seq = 0;
    while (app.streams() === 4 && seq < 4000) {
      emit(++seq);
      await waitFor(() => fast.every((f) => f.seqs.length === seq) || app.streams() < 4, `tick ${seq} read by the fast readers`, {
        timeoutMs: 10_000,
        intervalMs: 1,
      });
    }
    const droppedAt = seq;
    expect(app.streams()).toBe(3);
    expect(droppedAt).toBeLessThan(4000);
    expect(listeners()).toBe(3);
    // The server let go of its connection (the three readers' remain)…
    const connections = () => new Promise<number>((resolve, reject) => s.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    await waitFor(async () => (await connections()) === 3, 'the server to close the slow connection', { timeoutMs: 10_000 });
    // …and the slow client, reading again, finds its stream ended, short of the ticks sent.
    let slowBytes = head.length;
    slow.on('data', (d: Buffer) => (slowBytes += d.length));
    slow.resume();
    await waitFor(() => slowClosed, 'the slow socket to see the end of its stream', { timeoutMs: 10_000 });
    expect(slowBytes).toBeLessThan(droppedAt * 64 * 1024);

    // The others go on: 20 more ticks, every one read by each, in order.
    for (let i = 0; i < 20; i++) {
      emit(++seq);
      await waitFor(() => fast.every((f) => f.seqs.length === seq), `tick ${seq} read after the drop`, { timeoutMs: 10_000, intervalMs: 1 });
    }
    const all = Array.from({ length: seq }, (_, i) => i + 1);
    for (const f of fast) expect(f.seqs).toEqual(all);
    abort.abort();
    await Promise.all(fast.map((f) => f.done));
    await waitFor(() => app.streams() === 0, 'every stream released', { timeoutMs: 10_000 });
  });
});
