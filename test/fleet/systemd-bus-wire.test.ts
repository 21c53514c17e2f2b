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
  readSimpleBody,
  splitDbusMessages,
  unitOfObjectPath,
} from '../../fleet/dbus-wire.js';
import { userBusPath } from '../../fleet/systemd-bus.js';

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
    const header = { type: 4, serial: 9, replySerial: null, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'JobRemoved', errorName: null, sender: ':1.0', bigEndian: false };
    const body = Buffer.concat(parts);
    expect(readSimpleBody({ header: { ...header, signature: 'uoss' }, body })).toEqual([7, '/org/freedesktop/systemd1/job/7', 'mosaic-agent@a1.service', 'done']);
    expect(readSimpleBody({ header: { ...header, signature: 'a{sv}' }, body })).toBeNull();
    expect(readSimpleBody({ header: { ...header, signature: 'uoss' }, body: body.subarray(0, 20) })).toBeNull();
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
