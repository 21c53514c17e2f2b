/**
 * The D-Bus wire pieces of the systemd bus monitor (fleet/dbus-wire.ts) and the bus address
 * (fleet/systemd-bus.ts `userBusPath`): a method call encoded and read back, messages cut from
 * a stream in pieces, the size bound, unit object paths, and where the user bus is found. The
 * monitor itself runs against a real bus in test/snapshot/push-systemd-bus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  DBUS_MAX_MESSAGE_BYTES,
  DBUS_METHOD_CALL,
  DbusWireError,
  dbusAuthLine,
  encodeDbusCall,
  readPropertiesChanged,
  readSimpleBody,
  splitDbusMessages,
  type DbusHeader,
  unitOfObjectPath,
} from '../../fleet/dbus-wire.js';
import { userBusPath } from '../../fleet/systemd-bus.js';
import { changeIsKnown } from '../../fleet/systemd-push.js';

/** A little-endian body writer for the tests (values aligned from the body's start, as on the wire). */
class Body {
  private parts: number[] = [];
  private pad(n: number) {
    while (this.parts.length % n) this.parts.push(0);
  }
  u32(v: number) {
    this.pad(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(...b);
    return this;
  }
  str(v: string) {
    this.u32(Buffer.byteLength(v));
    this.parts.push(...Buffer.from(v), 0);
    return this;
  }
  sig(v: string) {
    this.parts.push(v.length, ...Buffer.from(v, 'ascii'), 0);
    return this;
  }
  /** An array: its length is patched in after `fill` wrote its elements (aligned to `elementAlign`). */
  array(elementAlign: number, fill: () => void) {
    this.u32(0);
    const lengthAt = this.parts.length - 4;
    this.pad(elementAlign);
    const start = this.parts.length;
    fill();
    const b = Buffer.alloc(4);
    b.writeUInt32LE(this.parts.length - start);
    this.parts.splice(lengthAt, 4, ...b);
    return this;
  }
  align(n: number) {
    this.pad(n);
    return this;
  }
  done() {
    return Buffer.from(this.parts);
  }
}

const signalHeader = (signature: string): DbusHeader => ({
  type: 4,
  serial: 9,
  replySerial: null,
  path: '/org/freedesktop/systemd1/unit/a_2eservice',
  interface: 'org.freedesktop.DBus.Properties',
  member: 'PropertiesChanged',
  errorName: null,
  sender: ':1.0',
  signature,
  bigEndian: false,
});

/** A PropertiesChanged body as systemd sends it: strings, a u, an `as` and an `a(sasbttttuii)`-like struct array to skip, one invalidated name. */
function propertiesChangedBody(activeState: string, invalidated: string[] = []): Buffer {
  const b = new Body().str('org.freedesktop.systemd1.Unit');
  b.array(8, () => {
    b.align(8).str('ActiveState').sig('s').str(activeState);
    b.align(8)
      .str('Requires')
      .sig('as')
      .array(4, () => b.str('x.service').str('y.service'));
    b.align(8)
      .str('Conditions')
      .sig('a(sbbsi)')
      .array(8, () => b.align(8).str('ConditionPathExists').u32(0).u32(1).str('/x').u32(0));
    b.align(8).str('StateChangeTimestamp').sig('t').align(8).u32(1).u32(0);
    b.align(8).str('MainPID').sig('u').u32(42);
    b.align(8).str('Id').sig('s').str('a.service');
  });
  b.array(4, () => {
    for (const name of invalidated) b.str(name);
  });
  return b.done();
}

const addMatch = {
  serial: 7,
  destination: 'org.freedesktop.DBus',
  path: '/org/freedesktop/DBus',
  interface: 'org.freedesktop.DBus',
  member: 'AddMatch',
  args: ["type='signal',path_namespace='/org/freedesktop/systemd1/unit'"],
};

describe('D-Bus wire', () => {
  it('a method call reads back with its header fields; the body follows the 8-aligned header', () => {
    const msg = encodeDbusCall(addMatch);
    expect(msg[0]).toBe(0x6c);
    expect(msg.readUInt32LE(8)).toBe(7);
    const { messages, rest } = splitDbusMessages(msg);
    expect(rest.length).toBe(0);
    expect(messages.map((m) => m.header)).toEqual([
      {
        type: DBUS_METHOD_CALL,
        serial: 7,
        replySerial: null,
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'AddMatch',
        errorName: null,
        sender: null,
        signature: 's',
        bigEndian: false,
      },
    ]);
    expect(readSimpleBody(messages[0]!)).toEqual(addMatch.args);
    // The body: one STRING (length, bytes, NUL) right after the header, which ends 8-aligned.
    const bodyLength = msg.readUInt32LE(4);
    const body = msg.subarray(msg.length - bodyLength);
    expect((msg.length - bodyLength) % 8).toBe(0);
    expect(body.readUInt32LE(0)).toBe(addMatch.args[0]!.length);
    expect(body.toString('utf8', 4, 4 + addMatch.args[0]!.length)).toBe(addMatch.args[0]);
    expect(body[body.length - 1]).toBe(0);
  });

  it('messages arriving in pieces are cut whole; the incomplete tail is kept', () => {
    const a = encodeDbusCall({ ...addMatch, serial: 1 });
    const b = encodeDbusCall({ ...addMatch, serial: 2, member: 'Hello', args: [] });
    const stream = Buffer.concat([a, b]);
    const cut = a.length + 5;
    const first = splitDbusMessages(stream.subarray(0, cut));
    expect(first.messages.map((m) => m.header.serial)).toEqual([1]);
    expect(first.rest.length).toBe(5);
    const second = splitDbusMessages(Buffer.concat([first.rest, stream.subarray(cut)]));
    expect(second.messages.map((m) => [m.header.serial, m.header.member, m.body.length])).toEqual([[2, 'Hello', 0]]);
    expect(second.rest.length).toBe(0);
    // Fewer than 16 bytes: nothing yet.
    expect(splitDbusMessages(stream.subarray(0, 10)).messages).toEqual([]);
  });

  it('a message over the bound or with a bad endianness byte is refused (the connection is dropped)', () => {
    const big = encodeDbusCall({ ...addMatch, args: ['x'.repeat(2000)] });
    expect(() => splitDbusMessages(big, 1024)).toThrow(DbusWireError);
    expect(() => splitDbusMessages(big, 1024)).toThrow(/over the 1024-byte bound/);
    // The bound is checked from the fixed header alone: a huge announced body is refused before it arrives.
    const announced = Buffer.from(big.subarray(0, 16));
    announced.writeUInt32LE(DBUS_MAX_MESSAGE_BYTES, 4);
    expect(() => splitDbusMessages(announced)).toThrow(DbusWireError);
    const bad = Buffer.from(big);
    bad[0] = 0x41;
    expect(() => splitDbusMessages(bad)).toThrow(/bad endianness byte 0x41/);
  });

  it('a JobRemoved body (uoss) reads as its values; other signatures and short bodies are not read', () => {
    // id 7, job path, unit, result — marshalled as systemd does (each value 4-aligned).
    const parts: Buffer[] = [];
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const str = (s: string) => {
      const bytes = Buffer.from(s);
      const pad = (4 - ((bytes.length + 1) % 4)) % 4;
      return Buffer.concat([u32(bytes.length), bytes, Buffer.alloc(1 + pad)]);
    };
    parts.push(u32(7), str('/org/freedesktop/systemd1/job/7'), str('mosaic-agent@a1.service'), str('done'));
    const header = {
      type: 4,
      serial: 9,
      replySerial: null,
      path: '/org/freedesktop/systemd1',
      interface: 'org.freedesktop.systemd1.Manager',
      member: 'JobRemoved',
      errorName: null,
      sender: ':1.0',
      bigEndian: false,
    };
    const body = Buffer.concat(parts);
    expect(readSimpleBody({ header: { ...header, signature: 'uoss' }, body })).toEqual([
      7,
      '/org/freedesktop/systemd1/job/7',
      'mosaic-agent@a1.service',
      'done',
    ]);
    expect(readSimpleBody({ header: { ...header, signature: 'a{sv}' }, body })).toBeNull();
    expect(readSimpleBody({ header: { ...header, signature: 'uoss' }, body: body.subarray(0, 20) })).toBeNull();
  });

  it('a PropertiesChanged body: interface, string and u values, other types skipped, invalidated names', () => {
    const change = readPropertiesChanged({ header: signalHeader('sa{sv}as'), body: propertiesChangedBody('active', ['Conditions']) });
    expect(change?.interface).toBe('org.freedesktop.systemd1.Unit');
    expect([...change!.changed]).toEqual([
      ['ActiveState', 'active'],
      ['Requires', null],
      ['Conditions', null],
      ['StateChangeTimestamp', null],
      ['MainPID', 42],
      ['Id', 'a.service'],
    ]);
    expect(change?.invalidated).toEqual(['Conditions']);
    expect(readPropertiesChanged({ header: signalHeader('s'), body: propertiesChangedBody('active') })).toBeNull();
    expect(() => readPropertiesChanged({ header: signalHeader('sa{sv}as'), body: propertiesChangedBody('active').subarray(0, 60) })).toThrow(DbusWireError);
  });

  it('a signal is a change only when a watched property differs from the kept answer or is invalidated', () => {
    const kept = { name: 'a.service', loadState: 'loaded', activeState: 'active', subState: 'running', unitFileState: 'enabled', mainPid: 42 };
    const read = (active: string, invalidated: string[] = []) =>
      readPropertiesChanged({ header: signalHeader('sa{sv}as'), body: propertiesChangedBody(active, invalidated) })!;
    // A dependency list changed (the signal carries every property, the watched ones unchanged): known.
    expect(changeIsKnown(read('active', ['Conditions']), kept)).toBe(true);
    expect(changeIsKnown(read('deactivating'), kept)).toBe(false);
    expect(changeIsKnown(read('active'), { ...kept, mainPid: 7 })).toBe(false);
    expect(changeIsKnown(read('active', ['SubState']), kept)).toBe(false);
    expect(changeIsKnown(read('active'), undefined)).toBe(false);
  });

  it('the EXTERNAL auth line carries the uid as hex ASCII', () => {
    expect(dbusAuthLine(1000)).toBe('\0AUTH EXTERNAL 31303030\r\n');
    expect(dbusAuthLine(0)).toBe('\0AUTH EXTERNAL 30\r\n');
  });

  it('unit object paths unescape to unit names; other paths are not units', () => {
    expect(unitOfObjectPath('/org/freedesktop/systemd1/unit/mosaic_2dagent_40a1_2eservice')).toBe('mosaic-agent@a1.service');
    // An escaped instance (systemd-escape's \x2d) is itself escaped on the bus.
    expect(unitOfObjectPath('/org/freedesktop/systemd1/unit/mosaic_2dagent_40x_5cx2dy_2eservice')).toBe('mosaic-agent@x\\x2dy.service');
    expect(unitOfObjectPath('/org/freedesktop/systemd1/unit/_31foo_2eservice')).toBe('1foo.service');
    expect(unitOfObjectPath('/org/freedesktop/systemd1/job/42')).toBeNull();
    expect(unitOfObjectPath('/org/freedesktop/systemd1/unit/')).toBeNull();
  });
});

describe('userBusPath', () => {
  it('DBUS_SESSION_BUS_ADDRESS first (path percent-decoded, abstract with a NUL), else $XDG_RUNTIME_DIR/bus', () => {
    expect(userBusPath({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus', XDG_RUNTIME_DIR: '/x' })).toBe('/run/user/1000/bus');
    expect(userBusPath({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/tmp/a%20b/bus,guid=abc' })).toBe('/tmp/a b/bus');
    expect(userBusPath({ DBUS_SESSION_BUS_ADDRESS: 'tcp:host=127.0.0.1,port=1;unix:abstract=/tmp/dbus-x' })).toBe('\0/tmp/dbus-x');
    expect(userBusPath({ XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/run/user/7/bus');
    expect(userBusPath({ DBUS_SESSION_BUS_ADDRESS: 'tcp:host=127.0.0.1,port=1' })).toBeNull();
    expect(userBusPath({})).toBeNull();
  });
});
