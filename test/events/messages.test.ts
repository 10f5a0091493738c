import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as msg from '../../src/events/messages.js';
import { MAX_DATAGRAM_BYTES } from '../../src/events/limits.js';
import { loadVectors, hex } from '../helpers/vectors.js';

interface Vector {
  id: string;
  direction: string;
  datagram: string;
  hex: string;
  build?: { fn: string; args?: unknown[] };
  read?: Record<string, unknown>;
  drop?: boolean;
}

const file = loadVectors<Vector>('neteria', 'examples');
const enc = new TextEncoder();

function build(b: NonNullable<Vector['build']>): string {
  const a = b.args ?? [];
  switch (b.fn) {
    case 'BYE_REGISTER': return msg.BYE_REGISTER;
    case 'OK_REGISTER': return msg.OK_REGISTER;
    case 'BYE_EVENT': return msg.BYE_EVENT;
    case 'ohai': return msg.ohai(a[0] as string, a[1] as string);
    case 'ohaiClient': return msg.ohaiClient(a[0] as string, a[1] as string | null);
    case 'register': return msg.register(a[0] as string);
    case 'judgement': return msg.judgement(a[0] as msg.Judgement, a[1] as string, a[2] as string);
    case 'okEvent': return msg.okEvent(a[0] as string, a[1] as string);
    case 'okNotify': return msg.okNotify(a[0] as string, a[1] as string);
    case 'notify': return msg.notify(msg.dataJson(a[0]), a[1] as string);
    case 'event': {
      const f = a[0] as { cuuid: string; euuid: string; data: unknown; timestamp: string; priority: string };
      return msg.event({ ...f, dataJson: msg.dataJson(f.data) }, a[1] as number);
    }
    default: throw new Error(`unknown builder ${b.fn}`);
  }
}

describe('neteria §12 example datagrams', () => {
  it('the vector file is consistent (hex = UTF-8 of the datagram)', () => {
    expect(file.section).toBe('§12');
    expect(file.vectors.map((v) => v.id)).toEqual(Array.from({ length: 15 }, (_, i) => `N${i + 1}`));
    for (const v of file.vectors) expect(Buffer.from(hex(v.hex)).toString('utf8')).toBe(v.datagram);
  });

  for (const v of file.vectors.filter((x) => x.build)) {
    it(`${v.id} is built byte for byte`, () => {
      expect(Buffer.from(enc.encode(build(v.build!)))).toEqual(Buffer.from(hex(v.hex)));
    });
  }

  for (const v of file.vectors.filter((x) => x.read)) {
    it(`${v.id} is read by the ${v.direction === 'S->C' ? 'client' : 'server'}`, () => {
      const r = v.direction === 'S->C' ? msg.readClientInbound(hex(v.hex)) : msg.readServerInbound(hex(v.hex));
      expect(r).toEqual({ ok: true, message: v.read });
    });
  }

  it('N7 (not JSON) is dropped by both readers', () => {
    const n7 = file.vectors.find((v) => v.id === 'N7')!;
    expect(n7.drop).toBe(true);
    expect(msg.readServerInbound(hex(n7.hex))).toEqual({ ok: false, reason: 'not UTF-8 JSON' });
    expect(msg.readClientInbound(hex(n7.hex))).toEqual({ ok: false, reason: 'not UTF-8 JSON' });
  });
});

describe('readers accept any valid JSON form', () => {
  it('reads compact spacing, other key orders and escapes', () => {
    const text = '{"euuid":"e\\u0031","cuuid":"c","event_data":[1,{"a":"\\u00e9"}],"priority":"high","timestamp":0,"method":"EVENT","retry":2}';
    expect(msg.readServerInbound(enc.encode(text))).toEqual({
      ok: true,
      message: { method: 'EVENT', cuuid: 'c', euuid: 'e1', eventData: [1, { a: 'é' }], priority: 'high', retry: 2 },
    });
    expect(msg.readClientInbound(enc.encode(' {\n "method" : "OK REGISTER" } '))).toEqual({ ok: true, message: { method: 'OK REGISTER' } });
  });

  it('takes a missing or odd retry as 0 and a missing server_name as null', () => {
    const r = msg.readServerInbound(enc.encode('{"method":"EVENT","cuuid":"c","euuid":"e","event_data":null,"timestamp":"t","priority":"normal","retry":"x"}'));
    expect(r.ok && r.message.method === 'EVENT' && r.message.retry).toBe(0);
    expect(msg.readClientInbound(enc.encode('{"method":"OHAI Client","version":"1.0.3"}'))).toEqual({
      ok: true, message: { method: 'OHAI Client', version: '1.0.3', serverName: null },
    });
  });
});

describe('readers drop bad input with a reason, never throwing', () => {
  const bad: Array<[string, string | Uint8Array]> = [
    ['invalid UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d])],
    ['a BOM', Uint8Array.from([0xef, 0xbb, 0xbf, ...enc.encode('{"method":"OK REGISTER"}')])],
    ['an array', '[1, 2]'],
    ['null', 'null'],
    ['a string', '"OHAI"'],
    ['no method', '{"cuuid":"c"}'],
    ['a numeric method', '{"method":1,"cuuid":"c"}'],
    ['an unknown method', '{"method":"HELLO","cuuid":"c"}'],
    ['AUTH (broken in the original, §10)', '{"method":"AUTH","cuuid":"c","euuid":"e","event_data":1,"timestamp":"t","retry":0,"priority":"normal"}'],
    ['EVENT without euuid', '{"method":"EVENT","cuuid":"c","event_data":1,"timestamp":"t","priority":"normal"}'],
    ['EVENT with a numeric euuid', '{"method":"EVENT","cuuid":"c","euuid":5,"event_data":1,"timestamp":"t","priority":"normal"}'],
    ['EVENT without event_data', '{"method":"EVENT","cuuid":"c","euuid":"e","timestamp":"t","priority":"normal"}'],
    ['EVENT without priority', '{"method":"EVENT","cuuid":"c","euuid":"e","event_data":1,"timestamp":"t"}'],
    ['REGISTER without cuuid', '{"method":"REGISTER"}'],
    ['OHAI without version', '{"method":"OHAI","cuuid":"c"}'],
    ['OK EVENT without euuid', '{"method":"OK EVENT","cuuid":"c"}'],
    ['a __proto__ key', '{"__proto__":{"method":"REGISTER"},"cuuid":"c"}'],
    ['truncated JSON', '{"method": "REGISTER", "cuuid": "c"'],
    ['empty', ''],
  ];
  for (const [name, input] of bad) {
    it(`server reader drops ${name}`, () => {
      const bytes = typeof input === 'string' ? enc.encode(input) : input;
      const r = msg.readServerInbound(bytes);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    });
  }
  for (const text of ['{"method":"LEGAL"}', '{"method":"NOTIFY","euuid":"x"}', '{"method":"OHAI Client"}', '{"method":"EVENT"}', '[]']) {
    it(`client reader drops ${text}`, () => expect(msg.readClientInbound(enc.encode(text)).ok).toBe(false));
  }

  it('drops a datagram over 10240 bytes without parsing it', () => {
    const big = `{"method":"REGISTER","cuuid":"${'a'.repeat(MAX_DATAGRAM_BYTES)}"}`;
    expect(msg.readServerInbound(enc.encode(big))).toEqual({ ok: false, reason: `datagram of ${big.length} bytes over ${MAX_DATAGRAM_BYTES}` });
    const exact = `{"method":"REGISTER","cuuid":"${'a'.repeat(MAX_DATAGRAM_BYTES - 32)}"}`;
    expect(exact.length).toBe(MAX_DATAGRAM_BYTES);
    expect(msg.readServerInbound(enc.encode(exact)).ok).toBe(true);
  });
});

describe('readers never throw (fuzz)', () => {
  const methods = ['OHAI', 'OHAI Client', 'REGISTER', 'OK REGISTER', 'BYE REGISTER', 'EVENT', 'LEGAL', 'ILLEGAL', 'BYE EVENT', 'OK EVENT', 'NOTIFY', 'OK NOTIFY', 'AUTH'];
  const keys = ['method', 'cuuid', 'euuid', 'event_data', 'timestamp', 'retry', 'priority', 'version', 'server_name', 'data', 'encryption', '__proto__'];
  it('on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(() => { msg.readServerInbound(bytes); msg.readClientInbound(bytes); }).not.toThrow();
    }), { numRuns: 500, seed: 1 });
  });
  it('on protocol-shaped objects with arbitrary values', () => {
    const obj = fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.constantFrom(...methods), fc.jsonValue({ maxDepth: 2 })));
    fc.assert(fc.property(obj, (o) => {
      const bytes = enc.encode(JSON.stringify(o));
      const a = msg.readServerInbound(bytes);
      const b = msg.readClientInbound(bytes);
      for (const r of [a, b]) if (r.ok) expect(typeof r.message.method).toBe('string');
    }), { numRuns: 1000, seed: 2 });
  });
});
