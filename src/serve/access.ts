/**
 * Who may talk to `mosaic-top serve`, and from where: the token file, the listen address
 * (loopback or routable), the failed-token limiter and the same-origin check of mutations.
 * Pure or file-only: no HTTP framework here (src/serve/app.ts applies these).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describeCause, OperatorError } from '../../lib/errors.js';
import { ensureOwnerOnlyDir, OWNER_ONLY_FILE_MODE } from '../../lib/owner-only.js';

/** Exit code of a refused start (bad token file, unsafe listen address). */
export const SERVE_REFUSED_EXIT = 2;
/** Default listen address: loopback only. */
export const DEFAULT_LISTEN = '127.0.0.1:8470';
/** Bytes of a generated token (256 bits; at least 128 are required of any token file). */
const TOKEN_BYTES = 32;
/** Fewest characters a token read from a file may have (128 bits of hex). */
const MIN_TOKEN_CHARS = 32;

/** A parsed `--listen HOST:PORT`. */
export interface ListenAddress {
  host: string;
  port: number;
  /** True for 127.0.0.0/8, ::1 and `localhost`. */
  loopback: boolean;
}

/** True when `host` (an address or `localhost`) is a loopback address. Pure. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return false;
}

/**
 * Parses `HOST:PORT` (`[::1]:8470` for IPv6; port 0 = an ephemeral port). Throws
 * {@link OperatorError} (exit {@link SERVE_REFUSED_EXIT}) naming the bad value.
 */
export function parseListen(value: string): ListenAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value.trim());
  const hostPart = m?.[1];
  const port = m ? Number(m[2]) : NaN;
  if (hostPart === undefined || port > 65535)
    throw new OperatorError(`serve: --listen "${value}" is not HOST:PORT (e.g. 127.0.0.1:8470, [::1]:8470)`, SERVE_REFUSED_EXIT);
  const host = hostPart.replace(/^\[|\]$/g, '');
  return { host, port, loopback: isLoopbackHost(host) };
}

/**
 * The token of the server. With `explicitFile`: read from it, refused when group or others can
 * read it (mode & 0o044) or when it holds fewer than 32 characters (128 bits of hex). Without:
 * `<fleetDir>/serve-token`, created on first use (256 random bits, hex, mode 0600, the fleet dir
 * 0700) and checked like an explicit one afterwards. Throws {@link OperatorError} naming the
 * file, the cause and what to do.
 */
export function loadServeToken(opts: { explicitFile: string | null; fleetDir: string }): { token: string; file: string; created: boolean } {
  const file = opts.explicitFile ? path.resolve(opts.explicitFile) : path.join(opts.fleetDir, 'serve-token');
  let created = false;
  if (!opts.explicitFile && !fs.existsSync(file)) {
    try {
      ensureOwnerOnlyDir(opts.fleetDir);
      fs.writeFileSync(file, `${randomBytes(TOKEN_BYTES).toString('hex')}\n`, { mode: OWNER_ONLY_FILE_MODE, flag: 'wx' });
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new OperatorError(`serve: cannot create the token file ${file}: ${describeCause(error)}`, SERVE_REFUSED_EXIT, { cause: error });
    }
  }
  let st: fs.Stats;
  let text: string;
  try {
    st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > 4096) throw new Error(`${st.size} bytes, a token file holds one line`);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new OperatorError(`serve: cannot read the token file ${file}: ${describeCause(error)}`, SERVE_REFUSED_EXIT, { cause: error });
  }
  if ((st.mode & 0o044) !== 0)
    throw new OperatorError(
      `serve: the token file ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${file}`,
      SERVE_REFUSED_EXIT,
    );
  const token = text.trim();
  if (token.length < MIN_TOKEN_CHARS || /\s/.test(token))
    throw new OperatorError(
      `serve: the token file ${file} must hold one token of at least ${MIN_TOKEN_CHARS} characters (e.g. openssl rand -hex 32 > ${file})`,
      SERVE_REFUSED_EXIT,
    );
  return { token, file, created };
}

/** Constant-time comparison of a presented token with the server's. Pure. */
export function tokenMatches(presented: string | null | undefined, token: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Refuses unsafe combinations at start: a non-loopback listen without an explicit token file;
 * `--metrics-open` on a non-loopback listen. Returns the one-line TLS warning for a routable
 * bind (null on loopback). Throws {@link OperatorError} (exit {@link SERVE_REFUSED_EXIT}).
 */
export function checkListenPolicy(listen: ListenAddress, opts: { explicitTokenFile: boolean; metricsOpen: boolean }): string | null {
  if (listen.loopback) return null;
  const where = `${listen.host}:${listen.port}`;
  if (!opts.explicitTokenFile)
    throw new OperatorError(
      `serve: refusing to listen on ${where} (not loopback) without an explicit --token-file (an owner-only file holding a token of at least 128 bits)`,
      SERVE_REFUSED_EXIT,
    );
  if (opts.metricsOpen)
    throw new OperatorError(`serve: --metrics-open is for a loopback listen only; ${where} is reachable from elsewhere`, SERVE_REFUSED_EXIT);
  return `mosaic-top serve: listening on ${where} over plain HTTP: put TLS in front (a reverse proxy, tailscale serve) before using it across a network`;
}

/**
 * Failed token attempts per remote address in a sliding window (default 10 per 60 s). After
 * the limit, {@link FailedTokenLimiter.blocked} is true for that address until its oldest
 * failure leaves the window. Bounded: at most `maxAddresses` addresses are tracked (the oldest
 * forgotten first).
 */
export class FailedTokenLimiter {
  private readonly failures = new Map<string, number[]>();

  /** `limit` failures per `windowMs` (ms) per address; `now` is the clock (ms). */
  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxAddresses = 10_000,
  ) {}

  private recent(address: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(address) ?? []).filter((t) => t > cutoff);
    if (list.length) this.failures.set(address, list);
    else this.failures.delete(address);
    return list;
  }

  /** True when `address` has used up its failed attempts. */
  blocked(address: string): boolean {
    return this.recent(address).length >= this.limit;
  }

  /** Records one failed attempt of `address`. */
  fail(address: string): void {
    const list = this.recent(address);
    list.push(this.now());
    this.failures.delete(address);
    this.failures.set(address, list);
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value as string);
  }
}

/**
 * The same-origin rule of mutations: a browser's `Sec-Fetch-Site` must be `same-origin`, and an
 * `Origin` header must name the host the request was sent to (`Host`). A request with neither
 * (curl, scripts with the Bearer token) passes: only browsers send cross-site forms. Returns
 * why it is refused, or null. Pure.
 */
export function crossSiteRefusal(headers: { origin?: string; secFetchSite?: string; host?: string }): string | null {
  if (headers.secFetchSite && headers.secFetchSite !== 'same-origin') return `Sec-Fetch-Site is ${headers.secFetchSite}, not same-origin`;
  if (headers.origin !== undefined) {
    let host: string | null;
    try {
      host = new URL(headers.origin).host;
    } catch {
      host = null;
    }
    if (!host || !headers.host || host.toLowerCase() !== headers.host.toLowerCase())
      return `Origin ${headers.origin} is not this server (${headers.host ?? 'no Host'})`;
  }
  return null;
}

/**
 * On a loopback listen, the `Host` header must name a loopback host (DNS rebinding: a page of
 * another site resolved to 127.0.0.1 sends its own name). Pure.
 */
export function hostAllowed(host: string | undefined, listen: ListenAddress): boolean {
  if (!listen.loopback) return true;
  if (!host) return false;
  const name = host.replace(/:\d+$/, '');
  return isLoopbackHost(name);
}
