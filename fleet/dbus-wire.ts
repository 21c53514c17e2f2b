/**
 * The few pieces of the D-Bus wire protocol (D-Bus Specification, "Message Protocol" and
 * "Authentication Protocol") that the systemd bus monitor (./systemd-bus.ts) needs: the
 * EXTERNAL auth line, method calls with string arguments (Hello, AddMatch, Subscribe), and the
 * header of every message received (type, serials, path, interface, member, error name,
 * signature) with its body's bytes, cut from a byte stream with a bound on a message's size.
 * A body is read only when it is made of `u`, `s` and `o` alone ({@link readSimpleBody}: a
 * `JobRemoved`'s unit name); a signal's object path names its unit. Pure.
 */

/** Message types (D-Bus Specification, "Message Types"). */
export const DBUS_METHOD_CALL = 1;
export const DBUS_METHOD_RETURN = 2;
export const DBUS_ERROR = 3;
export const DBUS_SIGNAL = 4;

/** Largest message accepted, bytes (a unit's PropertiesChanged is a few KiB; the spec allows 128 MiB). */
export const DBUS_MAX_MESSAGE_BYTES = 1 << 20;

/** The header of one received message; bodies are not parsed. */
export interface DbusHeader {
  /** 1 method call, 2 method return, 3 error, 4 signal. */
  type: number;
  serial: number;
  /** Serial of the call this answers (returns and errors), else null. */
  replySerial: number | null;
  path: string | null;
  interface: string | null;
  member: string | null;
  errorName: string | null;
  sender: string | null;
  /** The body's signature (`` when it has none). */
  signature: string;
  /** True when the message is big-endian (its body too). */
  bigEndian: boolean;
}

/** One received message: its header and its body's bytes. */
export interface DbusMessage {
  header: DbusHeader;
  body: Buffer;
}

/** The method call to write: string arguments only (signature `s…`). */
export interface DbusCall {
  serial: number;
  destination: string;
  path: string;
  interface: string;
  member: string;
  args?: readonly string[];
}

/**
 * The client's side of the EXTERNAL authentication for uid `uid`: a NUL byte, then
 * `AUTH EXTERNAL <uid as hex-encoded ASCII>`. The server answers `OK <guid>`; the client then
 * writes {@link DBUS_AUTH_BEGIN}.
 */
export function dbusAuthLine(uid: number): string {
  return `\0AUTH EXTERNAL ${Buffer.from(String(uid), 'ascii').toString('hex')}\r\n`;
}

/** Ends the auth exchange; binary messages follow. */
export const DBUS_AUTH_BEGIN = 'BEGIN\r\n';

class Writer {
  private buf = Buffer.alloc(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }
  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }
  u32(v: number, at?: number): void {
    if (at !== undefined) {
      this.buf.writeUInt32LE(v, at);
      return;
    }
    this.align(4);
    this.room(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  /** A STRING or OBJECT_PATH: length, UTF-8 bytes, NUL. */
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u32(bytes.length);
    this.room(bytes.length + 1);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
    this.byte(0);
  }
  /** A SIGNATURE: one-byte length, ASCII, NUL. */
  signature(s: string): void {
    this.byte(s.length);
    this.room(s.length + 1);
    this.buf.write(s, this.length, 'ascii');
    this.length += s.length;
    this.byte(0);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Encodes a method call (little-endian, protocol version 1, no flags). Pure. */
export function encodeDbusCall(call: DbusCall): Buffer {
  const args = call.args ?? [];
  const body = new Writer();
  for (const a of args) body.string(a);
  const bodyBytes = body.done();
  const w = new Writer();
  w.byte(0x6c); // 'l'
  w.byte(DBUS_METHOD_CALL);
  w.byte(0);
  w.byte(1);
  w.u32(bodyBytes.length);
  w.u32(call.serial);
  w.u32(0); // header fields' length, written below
  const fieldsStart = w.length;
  const field = (code: number, sig: string, write: () => void) => {
    w.align(8);
    w.byte(code);
    w.signature(sig);
    write();
  };
  field(1, 'o', () => w.string(call.path));
  field(2, 's', () => w.string(call.interface));
  field(3, 's', () => w.string(call.member));
  field(6, 's', () => w.string(call.destination));
  if (args.length) field(8, 'g', () => w.signature('s'.repeat(args.length)));
  w.u32(w.length - fieldsStart, 12);
  w.align(8);
  return Buffer.concat([w.done(), bodyBytes]);
}

/** Thrown for a malformed or oversized message: the connection cannot be trusted any more. */
export class DbusWireError extends Error {}

function align(offset: number, n: number): number {
  return offset + ((n - (offset % n)) % n);
}

/**
 * Cuts the complete messages off the front of `buf`: their headers, and the bytes left (an
 * incomplete message). Throws {@link DbusWireError} for a bad endianness byte, a message over
 * `maxBytes` (default {@link DBUS_MAX_MESSAGE_BYTES}) or a header field it cannot read.
 */
export function splitDbusMessages(buf: Buffer, maxBytes = DBUS_MAX_MESSAGE_BYTES): { messages: DbusMessage[]; rest: Buffer } {
  const messages: DbusMessage[] = [];
  let at = 0;
  while (buf.length - at >= 16) {
    const le = buf[at] === 0x6c;
    if (!le && buf[at] !== 0x42) throw new DbusWireError(`bad endianness byte 0x${(buf[at] ?? 0).toString(16)}`);
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const bodyLength = u32(at + 4);
    const fieldsLength = u32(at + 12);
    const total = align(16 + fieldsLength, 8) + bodyLength;
    if (total > maxBytes) throw new DbusWireError(`message of ${total} bytes over the ${maxBytes}-byte bound`);
    if (buf.length - at < total) break;
    const header = readHeader(buf.subarray(at, at + 16 + fieldsLength), le);
    messages.push({ header, body: buf.subarray(at + total - bodyLength, at + total) });
    at += total;
  }
  return { messages, rest: at === 0 ? buf : buf.subarray(at) };
}

/** The header of one message (`msg`: its first 16 bytes and its header fields). */
function readHeader(msg: Buffer, le: boolean): DbusHeader {
  const u32 = (o: number) => {
    if (o + 4 > msg.length) throw new DbusWireError('header field past the header');
    return le ? msg.readUInt32LE(o) : msg.readUInt32BE(o);
  };
  const header: DbusHeader = {
    type: msg[1] ?? 0,
    serial: u32(8),
    replySerial: null,
    path: null,
    interface: null,
    member: null,
    errorName: null,
    sender: null,
    signature: '',
    bigEndian: !le,
  };
  let at = 16;
  while (at < msg.length) {
    at = align(at, 8);
    if (at >= msg.length) break;
    const code = msg[at] ?? 0;
    const sigLength = msg[at + 1] ?? 0;
    const sig = msg.toString('ascii', at + 2, at + 2 + sigLength);
    at += 3 + sigLength;
    let value: string | number;
    if (sig === 's' || sig === 'o') {
      at = align(at, 4);
      const n = u32(at);
      if (at + 4 + n > msg.length) throw new DbusWireError('header string past the header');
      value = msg.toString('utf8', at + 4, at + 4 + n);
      at += 5 + n;
    } else if (sig === 'g') {
      const n = msg[at] ?? 0;
      value = msg.toString('ascii', at + 1, at + 1 + n);
      at += 2 + n;
    } else if (sig === 'u' || sig === 'i') {
      at = align(at, 4);
      value = u32(at);
      at += 4;
    } else if (sig === 'y') {
      value = msg[at] ?? 0;
      at += 1;
    } else {
      throw new DbusWireError(`header field ${code} of signature '${sig}'`);
    }
    if (code === 1) header.path = String(value);
    else if (code === 2) header.interface = String(value);
    else if (code === 3) header.member = String(value);
    else if (code === 4) header.errorName = String(value);
    else if (code === 5) header.replySerial = Number(value);
    else if (code === 7) header.sender = String(value);
    else if (code === 8) header.signature = String(value);
  }
  return header;
}

/**
 * The values of a body whose signature has only `u` (a number), `s` and `o` (strings), in
 * order; null for any other signature or a body too short for it. `JobRemoved` (`uoss`: id,
 * job, unit, result) ⇒ `[7, '/org/freedesktop/systemd1/job/7', 'a.service', 'done']`. Pure.
 */
export function readSimpleBody(message: DbusMessage): (string | number)[] | null {
  const { body, header } = message;
  if (!/^[uso]*$/.test(header.signature)) return null;
  const u32 = (o: number) => (header.bigEndian ? body.readUInt32BE(o) : body.readUInt32LE(o));
  const values: (string | number)[] = [];
  let at = 0;
  for (const t of header.signature) {
    at = align(at, 4);
    if (at + 4 > body.length) return null;
    const n = u32(at);
    if (t === 'u') {
      values.push(n);
      at += 4;
      continue;
    }
    if (at + 4 + n + 1 > body.length) return null;
    values.push(body.toString('utf8', at + 4, at + 4 + n));
    at += 5 + n;
  }
  return values;
}

/**
 * The unit name of a systemd unit object path (`/org/freedesktop/systemd1/unit/<label>`, the
 * label escaped as sd-bus's `bus_label_escape` does: every byte outside `[A-Za-z0-9]`, and a
 * leading digit, is `_` + two lower-case hex digits), or null for another path.
 * `/org/freedesktop/systemd1/unit/mosaic_2dagent_40a1_2eservice` ⇒ `mosaic-agent@a1.service`. Pure.
 */
export function unitOfObjectPath(objectPath: string): string | null {
  const prefix = '/org/freedesktop/systemd1/unit/';
  if (!objectPath.startsWith(prefix)) return null;
  const label = objectPath.slice(prefix.length);
  if (!label || label.includes('/')) return null;
  const bytes: number[] = [];
  for (let i = 0; i < label.length; i++) {
    const hex = label[i] === '_' ? /^[0-9a-fA-F]{2}$/.exec(label.slice(i + 1, i + 3))?.[0] : undefined;
    if (hex !== undefined) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(label.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Alignment of a D-Bus type by its first character (D-Bus Specification, "Marshaling"). */
function alignmentOf(t: string): number {
  if (t === 'y' || t === 'g' || t === 'v') return 1;
  if (t === 'n' || t === 'q') return 2;
  if (t === 't' || t === 'x' || t === 'd' || t === '(' || t === '{') return 8;
  return 4; // b, i, u, h, s, o, a
}

/** The end of the first complete type in `sig` from `i` (a basic type, `a…`, `(…)`, `{…}`, `v`). */
function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    let j = i + 1;
    while (j < sig.length && sig[j] !== ')' && sig[j] !== '}') j = typeEnd(sig, j);
    return j + 1;
  }
  if (c === undefined) throw new DbusWireError('truncated signature');
  return i + 1;
}

/** Reads the value of complete type `t` at `at`: its end offset, and its value when `t` is `s`, `o`, `g` or `u`. */
function readValue(body: Buffer, t: string, at: number, be: boolean): { end: number; value: string | number | null } {
  const u32 = (o: number) => {
    if (o + 4 > body.length) throw new DbusWireError('body value past the body');
    return be ? body.readUInt32BE(o) : body.readUInt32LE(o);
  };
  at = align(at, alignmentOf(t[0] ?? ''));
  const c = t[0];
  if (c === 's' || c === 'o') {
    const n = u32(at);
    return { end: at + 5 + n, value: body.toString('utf8', at + 4, at + 4 + n) };
  }
  if (c === 'g') {
    const n = body[at] ?? 0;
    return { end: at + 2 + n, value: body.toString('ascii', at + 1, at + 1 + n) };
  }
  if (c === 'u' || c === 'i' || c === 'b' || c === 'h') return { end: at + 4, value: c === 'u' ? u32(at) : null };
  if (c === 'y') return { end: at + 1, value: null };
  if (c === 'n' || c === 'q') return { end: at + 2, value: null };
  if (c === 't' || c === 'x' || c === 'd') return { end: at + 8, value: null };
  if (c === 'a') {
    const n = u32(at);
    const start = align(at + 4, alignmentOf(t[1] ?? ''));
    return { end: start + n, value: null };
  }
  if (c === 'v') {
    const inner = readValue(body, 'g', at, be);
    return { end: readValue(body, String(inner.value), inner.end, be).end, value: null };
  }
  if (c === '(' || c === '{') {
    let end = at;
    for (let i = 1; i < t.length - 1;) {
      const next = typeEnd(t, i);
      end = readValue(body, t.slice(i, next), end, be).end;
      i = next;
    }
    return { end, value: null };
  }
  throw new DbusWireError(`type '${t}'`);
}

/** What a `PropertiesChanged` signal (`sa{sv}as`) says: the interface, the changed values (strings and `u` numbers; null for other types), the invalidated names. */
export interface PropertiesChange {
  interface: string;
  changed: Map<string, string | number | null>;
  invalidated: string[];
}

/**
 * Reads a `org.freedesktop.DBus.Properties.PropertiesChanged` body; null when its signature is
 * not `sa{sv}as`. Values of types other than `s`, `o`, `g` and `u` are skipped (kept as null).
 * Throws {@link DbusWireError} for a body that does not hold what its signature says.
 */
export function readPropertiesChanged(message: DbusMessage): PropertiesChange | null {
  const { body, header } = message;
  if (header.signature !== 'sa{sv}as') return null;
  const be = header.bigEndian;
  const iface = readValue(body, 's', 0, be);
  let at = align(iface.end, 4);
  if (at + 4 > body.length) throw new DbusWireError('body value past the body');
  const dictBytes = be ? body.readUInt32BE(at) : body.readUInt32LE(at);
  at = align(at + 4, 8);
  const dictEnd = at + dictBytes;
  const changed = new Map<string, string | number | null>();
  while (at < dictEnd) {
    const key = readValue(body, 's', align(at, 8), be);
    const sig = readValue(body, 'g', key.end, be);
    const value = readValue(body, String(sig.value), sig.end, be);
    changed.set(String(key.value), value.value);
    at = value.end;
  }
  const invalidatedAt = align(dictEnd, 4);
  const listBytes = invalidatedAt + 4 <= body.length ? (be ? body.readUInt32BE(invalidatedAt) : body.readUInt32LE(invalidatedAt)) : 0;
  const invalidated: string[] = [];
  for (let i = invalidatedAt + 4; i < invalidatedAt + 4 + listBytes;) {
    const s = readValue(body, 's', i, be);
    invalidated.push(String(s.value));
    i = s.end;
  }
  return { interface: String(iface.value), changed, invalidated };
}
