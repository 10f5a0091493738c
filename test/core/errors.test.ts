import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALL_ERROR_CODES,
  ErrorCode,
  GamewireError,
  GamewireErrorCode,
  GamewireRangeError,
  GamewireTypeError,
  errorName,
  errorReason,
  toGamewireError,
} from '../../src/core/errors.js';
import { MmArgumentError } from '../../src/mm/errors.js';
import { UdpError } from '../../src/udp/errors.js';
import { EventsError } from '../../src/events/errors.js';
import { PeoteBytesError } from '../../src/peote/bytes-error.js';

const C = GamewireErrorCode;

describe('GamewireErrorCode, the one table of codes', () => {
  it('holds unique GW_ERR_* strings', () => {
    const codes = Object.values(C);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^GW_ERR_[A-Z_]+$/);
  });

  it('holds the name of every ErrorCode value but Ok', () => {
    for (const value of ALL_ERROR_CODES) {
      if (value === ErrorCode.Ok) expect(errorName(value)).toBe('GW_OK');
      else expect(Object.values(C)).toContain(errorName(value));
    }
  });

  it('names every GW_ERR_ code written anywhere in src/', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) files.push(path);
      }
    };
    walk('src');
    const known = new Set<string>(Object.values(C));
    for (const path of files) {
      // GW_ERR_UNKNOWN_${n} is errorName's answer for a value outside the enum, not a code.
      for (const [code] of readFileSync(path, 'utf8').matchAll(/GW_ERR_[A-Z0-9_]*[A-Z0-9]/g)) {
        if (code !== 'GW_ERR_UNKNOWN') expect(known.has(code), `${path}: ${code}`).toBe(true);
      }
    }
  });
});

describe('GamewireError', () => {
  it('made from an ErrorCode value, as before: code, reason, value', () => {
    const err = new GamewireError(ErrorCode.FrameTooLarge);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('GamewireError');
    expect(err.code).toBe(C.FrameTooLarge);
    expect(err.value).toBe(ErrorCode.FrameTooLarge);
    expect(err.reason).toBe(errorReason(ErrorCode.FrameTooLarge));
    expect(err.message).toBe(err.reason);
    const detailed = toGamewireError(ErrorCode.AuthFailed, 'record 7');
    expect(detailed.code).toBe('GW_ERR_AUTH_FAILED');
    expect(detailed.reason).toBe('authentication failed: record 7');
  });

  it('made from a code string, with a cause; value only for codes of the ErrorCode enum', () => {
    const cause = new Error('EADDRINUSE');
    const err = new GamewireError(C.UdpSocket, 'bind failed', { cause });
    expect(err.code).toBe('GW_ERR_UDP_SOCKET');
    expect(err.reason).toBe('bind failed');
    expect(err.cause).toBe(cause);
    expect(err.value).toBeUndefined();
    expect(new GamewireError(C.ChunkTooLarge).value).toBe(ErrorCode.ChunkTooLarge);
    expect(new GamewireError(C.ChunkTooLarge).reason).toBe(errorReason(ErrorCode.ChunkTooLarge));
    expect(new GamewireError(C.Closed).reason).toBe('GW_ERR_CLOSED');
    expect('cause' in new GamewireError(C.Closed)).toBe(false);
  });

  it('misuse errors stay TypeError / RangeError and are GamewireErrors too', () => {
    const type = new GamewireTypeError(C.BadOption, 'options must be an object');
    const range = new GamewireRangeError(C.BadPort, 'port must be 1..65535');
    expect(type).toBeInstanceOf(TypeError);
    expect(type).toBeInstanceOf(GamewireError);
    expect(type).not.toBeInstanceOf(RangeError);
    expect(range).toBeInstanceOf(RangeError);
    expect(range).toBeInstanceOf(GamewireError);
    expect(range).not.toBeInstanceOf(GamewireTypeError);
    expect([type.code, type.reason, type.value, type.name]).toEqual(['GW_ERR_BAD_OPTION', 'options must be an object', undefined, 'GamewireTypeError']);
    expect(range.name).toBe('GamewireRangeError');
    expect(() => {
      throw range;
    }).toThrow(GamewireError);
  });

  it('is not claimed by errors gamewire did not make', () => {
    for (const other of [new Error('x'), new TypeError('x'), new RangeError('x'), Object.assign(new Error('x'), { code: 'GW_ERR_CLOSED' }), null, undefined, 'GW_ERR_CLOSED', {}]) {
      expect(other instanceof GamewireError).toBe(false);
    }
  });
});

describe('the style error classes are GamewireErrors', () => {
  it('UdpError, EventsError and PeoteBytesError subclass GamewireError, keeping their names and codes', () => {
    const cause = new Error('boom');
    const udp = new UdpError(C.UdpCallback, 'onConnect threw: boom', { cause });
    const events = new EventsError(C.EventTimeout, 'no judgement');
    const bytes = new PeoteBytesError(C.VarintNonMinimal, 'non-minimal varint at offset 3');
    for (const [err, cls, name] of [
      [udp, UdpError, 'UdpError'],
      [events, EventsError, 'EventsError'],
      [bytes, PeoteBytesError, 'PeoteBytesError'],
    ] as const) {
      expect(err).toBeInstanceOf(cls);
      expect(err).toBeInstanceOf(GamewireError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(name);
      expect(err.reason).toBe(err.message);
    }
    expect(udp.cause).toBe(cause);
    expect(udp.code).toBe('GW_ERR_UDP_CALLBACK');
    expect(events.code).toBe('GW_ERR_EVENT_TIMEOUT');
    expect(bytes.value).toBe(ErrorCode.VarintNonMinimal);
    expect(udp).not.toBeInstanceOf(EventsError);
    expect(events).not.toBeInstanceOf(UdpError);
  });

  it('MmArgumentError stays a RangeError and is a GamewireError', () => {
    const err = new MmArgumentError(C.BadKey, 'key must be 32 or 64 hex digits');
    expect(err).toBeInstanceOf(MmArgumentError);
    expect(err).toBeInstanceOf(RangeError);
    expect(err).toBeInstanceOf(GamewireRangeError);
    expect(err).toBeInstanceOf(GamewireError);
    expect(err.name).toBe('MmArgumentError');
    expect(err.code).toBe('GW_ERR_BAD_KEY');
    expect(err.message).toBe('key must be 32 or 64 hex digits');
    expect(() => {
      throw err;
    }).toThrow(RangeError);
  });
});
