import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_BYTES } from '../../src/udp/limits.js';
import {
  TokenChecker,
  Word,
  classify,
  encodeConnectReply,
  encodeHello,
  parseConnectReply,
  parseGoAway,
  validateToken,
} from '../../src/udp/words.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('words codec', () => {
  it('classifies every reserved word, alone and followed by a space', () => {
    const cases: Array<[string, Word]> = [
      ['HELLO', Word.Hello],
      ['CONNECT', Word.Connect],
      ['CONNECTED', Word.Connected],
      ['GO AWAY!', Word.GoAway],
      ['PING', Word.Ping],
      ['PONG', Word.Pong],
      ['CLOSE', Word.Close],
      ['CLOSED', Word.Closed],
    ];
    for (const [text, word] of cases) {
      expect(classify(b(text))).toBe(word);
      expect(classify(b(`${text} `))).toBe(word);
      expect(classify(b(`${text} args and padding`))).toBe(word);
    }
  });

  it('calls everything else data', () => {
    for (const text of ['', 'P', 'PIN', 'ping', 'PINGPONG', 'PING\n', ' PING', 'CLOSEDX', 'CONNECTX', 'CONNECTE', 'GO AWAY', 'GO AWAY!!', 'HELLO\tx', 'HELLOx']) {
      expect(classify(b(text))).toBe(Word.Data);
    }
    expect(classify(new Uint8Array([0x50, 0x49, 0x4e, 0x47, 0x00]))).toBe(Word.Data);
  });

  it('pads HELLO and reads the token up to the first space', () => {
    const h = encodeHello(b('secret'), 64);
    expect(h.length).toBe(64);
    expect(h.toString('latin1').trimEnd()).toBe('HELLO secret');
    const c = new TokenChecker(b('secret'));
    expect(c.checkHello(h)).toBe(true);
    expect(c.checkHello(b('HELLO secret'))).toBe(true);
    expect(c.checkHello(b('HELLO secret pad'))).toBe(true);
    expect(c.checkHello(b('HELLO secre'))).toBe(false);
    expect(c.checkHello(b('HELLO secrets'))).toBe(false);
    expect(c.checkHello(b('HELLO Secret'))).toBe(false);
    expect(c.checkHello(b('HELLO '))).toBe(false);
    expect(c.checkHello(b(`HELLO ${'s'.repeat(MAX_TOKEN_BYTES + 10)}`))).toBe(false);
    c.set(b('other'));
    expect(c.checkHello(h)).toBe(false);
    expect(c.checkHello(b('HELLO other'))).toBe(true);
    // unpadded when the token is longer than the pad size
    expect(encodeHello(b('x'.repeat(60)), 64).length).toBe(66);
  });

  it('validates tokens', () => {
    expect(validateToken('abc-123').toString()).toBe('abc-123');
    for (const bad of ['', 'a b', 'tab\t', 'é', 'x'.repeat(MAX_TOKEN_BYTES + 1)]) expect(() => validateToken(bad)).toThrow(RangeError);
    expect(() => validateToken(42 as unknown as string)).toThrow(TypeError);
  });

  it('encodes and parses CONNECT <ip> <port>', () => {
    const r = encodeConnectReply('127.0.0.1', 54662);
    expect(r.toString()).toBe('CONNECT 127.0.0.1 54662');
    expect(parseConnectReply(r)).toEqual({ ip: '127.0.0.1', port: 54662 });
    expect(parseConnectReply(b('CONNECT ::1 9 padding'))).toEqual({ ip: '::1', port: 9 });
    for (const bad of ['CONNECT', 'CONNECT ', 'CONNECT 1.2.3.4', 'CONNECT host 12', 'CONNECT 1.2.3.4 0', 'CONNECT 1.2.3.4 65536', 'CONNECT 1.2.3.4 -1', 'CONNECT 1.2.3.4 123456', `CONNECT 1.2.3.4 1 ${'x'.repeat(200)}`]) {
      expect(parseConnectReply(b(bad))).toBeNull();
    }
  });

  it('reads the refusal cause of the extension', () => {
    expect(parseGoAway(b('GO AWAY!'))).toBe('unknown');
    expect(parseGoAway(b('GO AWAY! TOKEN'))).toBe('token');
    expect(parseGoAway(b('GO AWAY! FULL'))).toBe('full');
    expect(parseGoAway(b('GO AWAY! SOMETHING'))).toBe('unknown');
  });
});
