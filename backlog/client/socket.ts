/**
 * The embedded tier's wire: one connection to the backlog server on its Unix socket
 * (newline-delimited JSON, backlog/protocol.ts), the hello it starts with, requests by method
 * name with a deadline each, and the {@link BacklogClient} built on it.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { messageOf } from '../../lib/errors.js';
import { BACKLOG_PROTOCOL, LineSplitter, type BacklogHello, type BacklogMethod, type BacklogResponse } from '../protocol.js';
import { BacklogError } from '../types.js';
import { verbsFrom, type BacklogClient } from '../verbs.js';
import { abortError, requestTimeoutMessage } from './deadlines.js';
import { ourIdentity, staleServerWarning } from './identity.js';

/** Deadline of a server's hello after connecting, ms: a live server writes it at once. */
export const HELLO_TIMEOUT_MS = 3000;

/** A request waiting for its reply. */
interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** A connection to the embedded backlog server over its Unix socket: requests by method name. */
export class BacklogConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Waiter>();
  private closed = false;
  readonly serverWarning: string | null;
  /** The server's pid (from its hello) and its socket, for messages. */
  private readonly serverPid: number;
  private readonly socketPath: string;
  private onAbort: (() => void) | null = null;

  /**
   * Takes over `socket` (its hello already read): `location` is what the client reports (the
   * data dir), `requestTimeoutMs` each request's deadline, `signal` aborts every request.
   */
  constructor(
    private readonly socket: net.Socket,
    hello: BacklogHello,
    readonly location: string,
    private readonly requestTimeoutMs: number,
    private readonly signal?: AbortSignal,
    socketPath?: string,
  ) {
    this.serverWarning = staleServerWarning(hello, ourIdentity());
    this.serverPid = hello.pid;
    this.socketPath = socketPath ?? 'its socket';
    const splitter = new LineSplitter();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        this.failAll(new BacklogError('internal', messageOf(error)));
        return;
      }
      for (const line of lines) this.answer(line);
    });
    socket.on('error', (error) => this.failAll(new BacklogError('unavailable', `backlog server connection failed: ${error.message}`)));
    socket.on('close', () =>
      this.failAll(new BacklogError('unavailable', 'backlog server connection lost before the reply (the request may or may not have been applied)')),
    );
    if (signal) {
      this.onAbort = () => {
        this.failAll(abortError(signal));
        socket.destroy();
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Settles the request a reply line answers; a line that is not JSON or answers nothing pending is ignored. */
  private answer(line: string): void {
    let response: BacklogResponse;
    try {
      response = JSON.parse(line) as BacklogResponse;
    } catch {
      return;
    }
    if (response.id === null) return;
    const waiter = this.pending.get(response.id);
    if (!waiter) return;
    this.pending.delete(response.id);
    clearTimeout(waiter.timer);
    if (response.ok) waiter.resolve(response.result);
    else waiter.reject(new BacklogError(response.error.code, response.error.message));
  }

  private failAll(error: BacklogError): void {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
      this.pending.delete(id);
    }
  }

  /** Sends one command and waits for its reply (or the request timeout: BacklogError('timeout')). */
  call<T>(method: BacklogMethod, params?: unknown): Promise<T> {
    if (this.closed || this.socket.destroyed) return Promise.reject(new BacklogError('unavailable', 'backlog client is closed'));
    if (this.signal?.aborted) return Promise.reject(abortError(this.signal));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new BacklogError(
            'timeout',
            requestTimeoutMessage(method, params, this.requestTimeoutMs, `backlog server pid ${this.serverPid} on ${this.socketPath}`),
          ),
        );
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(JSON.stringify({ id, method, params: params ?? {} }) + '\n');
    });
  }

  /** Fails what is pending and closes the socket (destroyed after 1 s if the server does not close it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
    this.failAll(new BacklogError('unavailable', 'backlog client closed'));
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}

/**
 * The embedded tier's client: every verb is one request on the connection. Every claim carries
 * a request id (the caller's `requestId`, else a random one): the server remembers its reply,
 * so a repeat with it never claims a second card.
 */
export function socketClient(conn: BacklogConnection): BacklogClient {
  const withRequestId = (input: unknown): unknown => {
    const claim = (input ?? {}) as { requestId?: string };
    return { ...claim, requestId: claim.requestId ?? `rq-${randomBytes(6).toString('hex')}` };
  };
  return {
    tier: 'embedded',
    location: conn.location,
    serverWarning: conn.serverWarning,
    close: () => conn.close(),
    ...verbsFrom((verb, input) => conn.call(verb, verb === 'claim' ? withRequestId(input) : input)),
  };
}

/** A socket whose server said hello. */
export interface Connected {
  ok: true;
  socket: net.Socket;
  hello: BacklogHello;
}

/** Why {@link tryConnect} got no hello: nobody listens (`absent`), or a listener that stayed `silent` or `closed` the connection. */
export interface NotConnected {
  ok: false;
  failure: 'absent' | 'silent' | 'closed';
}

/**
 * Tries one connection to the socket and waits for the server's hello line; resolves the socket
 * and the hello. Resolves a {@link NotConnected} when nobody listens (absent or stale socket), or
 * the connection closes or stays silent for `helloTimeoutMs` before the hello (a server that is
 * exiting, or a stopped/hung one): no request was sent on it. Never rejects.
 */
export function tryConnect(socketPath: string, helloTimeoutMs = HELLO_TIMEOUT_MS): Promise<Connected | NotConnected> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    let buffered = '';
    let settled = false;
    let connected = false;
    const fail = (why: 'silent' | 'closed'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, failure: connected ? why : 'absent' });
    };
    const timer = setTimeout(() => fail('silent'), helloTimeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => (connected = true));
    const onData = (chunk: string): void => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let hello: BacklogHello | null;
      try {
        hello = JSON.parse(buffered.slice(0, nl)) as BacklogHello;
      } catch {
        hello = null;
      }
      if (!hello || hello.hello !== BACKLOG_PROTOCOL) return fail('closed');
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      resolve({ ok: true, socket, hello });
    };
    const onError = (): void => fail('closed');
    const onClose = (): void => fail('closed');
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
