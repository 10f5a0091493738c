/**
 * What a new user trips over in the peote style (issue 16): create then enter in one program,
 * argument checks at the call, connection failures that say why, payload types, unknown
 * options, null maps in RPC, short inspect output, and nothing left open after a failure.
 */
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Relay, silentLogger } from '../../src/relay/index.js';
import {
  PeoteBytesInput,
  PeoteBytesOutput,
  PeoteClient,
  PeoteServer,
  Reason,
  RpcTypes as T,
  destroyAllJointConnections,
} from '../../src/peote/index.js';
import { deadPort, ROOT, runSnippet } from '../helpers/exits-by-itself.js';

let relay: Relay;
let port = 0;
beforeAll(async () => {
  relay = await Relay.listen({ host: '127.0.0.1', port: 0, logger: silentLogger });
  port = relay.port;
});
afterAll(async () => {
  await relay.close();
});

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup) f();
  cleanup = [];
  destroyAllJointConnections();
});
function track<X extends PeoteServer | PeoteClient>(x: X): X {
  cleanup.push(() => (x instanceof PeoteServer ? x.delete() : x.leave()));
  return x;
}
function until(check: () => boolean, ms = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = (): void => {
      if (check()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('timed out'));
      setTimeout(poll, 5);
    };
    poll();
  });
}
const text = new TextEncoder();
/** `Class: message` of what `f` throws. */
function thrown(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
  return 'nothing thrown';
}

describe('an enter issued right after a create in the same program (item 1)', () => {
  it('waits for the create and then enters locally (same host)', async () => {
    const log: string[] = [];
    const server = track(new PeoteServer({
      onCreate: () => log.push('create'),
      onUserConnect: (s, user) => s.sendChunk(user, text.encode('welcome')),
      onDataChunk: () => undefined,
      onError: (_s, _u, r) => log.push(`server error ${Reason.toString(r)}`),
    }));
    const client = track(new PeoteClient({
      onEnter: () => log.push('enter'),
      onDataChunk: (_c, chunk) => log.push(new TextDecoder().decode(chunk)),
      onError: (_c, r) => log.push(`client error ${Reason.toString(r)}`),
    }));
    server.create('127.0.0.1', port, 'issue16-local');
    client.enter('127.0.0.1', port, 'issue16-local');
    await until(() => log.includes('welcome'));
    expect(log).toEqual(['create', 'enter', 'welcome']);
    expect(client.local).toBe(true);
  });

  it('waits for the create before going to the relay (another host name of the same relay)', async () => {
    const log: string[] = [];
    const server = track(new PeoteServer({
      onCreate: () => log.push('create'),
      onUserConnect: (s, user) => s.sendChunk(user, text.encode('welcome')),
      onDataChunk: () => undefined,
    }));
    const client = track(new PeoteClient({
      onEnter: () => log.push('enter'),
      onDataChunk: (_c, chunk) => log.push(new TextDecoder().decode(chunk)),
      onError: (_c, r) => log.push(`client error ${Reason.toString(r)}`),
    }));
    server.create('127.0.0.1', port, 'issue16-remote');
    client.enter('localhost', port, 'issue16-remote');
    await until(() => log.includes('welcome') || log.some((l) => l.includes('error')));
    expect(log).toEqual(['create', 'enter', 'welcome']);
    expect(client.local).toBe(false);
  });

  it('an enter waiting for a create that fails goes on and reports its own failure', async () => {
    const dead = await deadPort();
    const errors: string[] = [];
    const server = track(new PeoteServer({ onDataChunk: () => undefined, onError: (_s, _u, r, cause) => errors.push(`server ${Reason.describe(r, cause)}`) }));
    const client = track(new PeoteClient({ onDataChunk: () => undefined, onError: (_c, r, cause) => errors.push(`client ${Reason.describe(r, cause)}`) }));
    server.create('127.0.0.1', dead, 'x');
    client.enter('127.0.0.1', dead, 'x');
    await until(() => errors.length === 2);
    expect(errors[0]).toMatch(/^server relay unreachable: connect to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
    expect(errors[1]).toMatch(/^client relay unreachable: connect to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
  });

  it('leave() while waiting for the create cancels the enter', async () => {
    const log: string[] = [];
    const server = track(new PeoteServer({ onDataChunk: () => undefined, onUserConnect: () => log.push('user'), onCreate: () => log.push('create') }));
    const client = track(new PeoteClient({ onDataChunk: () => undefined, onEnter: () => log.push('enter') }));
    server.create('127.0.0.1', port, 'issue16-leave');
    client.enter('127.0.0.1', port, 'issue16-leave');
    client.leave();
    await until(() => log.includes('create'));
    await new Promise((r) => setTimeout(r, 50));
    expect(log).toEqual(['create']);
  });
});

describe('the README peote snippet, as written (item 1)', () => {
  it('creates, enters in the same program and delivers the welcome', async () => {
    const readme = (await import('node:fs')).readFileSync(`${ROOT}/README.md`, 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const snippet = blocks.find((b) => b.includes("from 'gamewire/peote'") && b.includes('client.enter('));
    expect(snippet, 'README has a ts block importing gamewire/peote that enters').toBeDefined();
    // Only the relay's port and the import path change; the snippet runs as printed.
    const program = snippet!
      .replace("from 'gamewire/peote'", `from '${ROOT}/src/peote/index.ts'`)
      .replaceAll('7680', String(port));
    const run = await runSnippet(`${program}\nsetTimeout(() => process.exit(0), 1500);\n`, 15_000);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^joint \d+\nwelcome\n$/);
  });
});

describe('arguments are checked at the call (item 3)', () => {
  const cases: [string, unknown, unknown, RegExp][] = [
    ['a string port', '127.0.0.1', 'abc', /TypeError: port must be a number, got a string \('abc'\)/],
    ['port 0', '127.0.0.1', 0, /RangeError: port must be an integer in 1\.\.65535, got 0/],
    ['port 70000', '127.0.0.1', 70000, /RangeError: .*got 70000/],
    ['port 7690.5', '127.0.0.1', 7690.5, /RangeError: .*got 7690.5/],
    ['a number host', 127, 7680, /TypeError: host must be a non-empty string, got a number/],
    ['an empty host', '', 7680, /TypeError: host must be a non-empty string, got ''/],
  ];
  it.each(cases)('%s throws at create and at enter', (_what, host, p, message) => {
    const server = new PeoteServer({ onDataChunk: () => undefined });
    const client = new PeoteClient({ onDataChunk: () => undefined });
    expect(thrown(() => server.create(host as string, p as number, 'j'))).toMatch(message);
    expect(thrown(() => client.enter(host as string, p as number, 'j'))).toMatch(message);
    expect(server.created).toBe(false);
    expect(client.entered).toBe(false);
  });
  it('a jointId that is not a string is a TypeError', () => {
    expect(thrown(() => new PeoteServer().create('127.0.0.1', 7680, 5 as unknown as string))).toBe('TypeError: jointId must be a string, got a number');
  });
});

describe('connection failures carry their cause (item 3)', () => {
  it('nothing listening: DISCONNECT with ECONNREFUSED for create and for enter', async () => {
    const dead = await deadPort();
    const seen: { who: string; reason: number; cause?: Error }[] = [];
    const server = track(new PeoteServer({ onDataChunk: () => undefined, onError: (_s, user, reason, cause) => seen.push({ who: `server ${user}`, reason, cause }) }));
    const client = track(new PeoteClient({ onDataChunk: () => undefined, onError: (_c, reason, cause) => seen.push({ who: 'client', reason, cause }) }));
    server.create('127.0.0.1', dead, 'a');
    client.enter('127.0.0.1', dead, 'b');
    await until(() => seen.length === 2);
    for (const s of seen) {
      expect(s.reason).toBe(Reason.DISCONNECT);
      expect(s.cause?.message).toBe(`connect to 127.0.0.1:${dead} failed: connect ECONNREFUSED 127.0.0.1:${dead}`);
      expect((s.cause as Error & { code?: string }).code).toBe('ECONNREFUSED');
      expect(Reason.describe(s.reason, s.cause)).toContain('ECONNREFUSED');
      expect(Reason.describe(s.reason, s.cause)).not.toContain('left or deleted explicitly');
    }
    expect(seen.map((s) => s.who).sort()).toEqual(['client', 'server -1']);
  });

  it('an unknown host names the lookup failure', async () => {
    const seen: Error[] = [];
    const client = track(new PeoteClient({ onDataChunk: () => undefined, onError: (_c, _r, cause) => seen.push(cause!) }));
    client.enter('no-such-host.invalid', 7680, 'x');
    await until(() => seen.length === 1, 15_000);
    expect(seen[0]!.message).toMatch(/^connect to no-such-host\.invalid:7680 failed: .*(ENOTFOUND|EAI_AGAIN)/);
  });

  it('Reason.describe without a cause still reads as before', () => {
    expect(Reason.describe(Reason.CLOSE)).toBe('connection closed or lost');
    expect(Reason.describe(Reason.DISCONNECT)).toBe('left or deleted explicitly, or the relay could not be reached');
  });
});

describe('payloads must be bytes (item 4)', () => {
  it('every send refuses a string or another non-byte value, naming the argument', async () => {
    const server = track(new PeoteServer({ offline: true, netLag: 0, onDataChunk: () => undefined }));
    const client = track(new PeoteClient({ onDataChunk: () => undefined }));
    server.create('h', 1, 'bytes');
    client.enter('h', 1, 'bytes');
    await until(() => client.entered);
    const user = server.users[0]!;
    for (const bad of ['héllo', 5, null, [1, 2], { length: 3 }] as unknown[]) {
      expect(() => client.sendChunk(bad as Uint8Array)).toThrow(/^chunk must be a Uint8Array, got /);
      expect(() => client.send(bad as Uint8Array)).toThrow(/^bytes must be a Uint8Array, got /);
      expect(() => server.sendChunk(user, bad as Uint8Array)).toThrow(TypeError);
      expect(() => server.send(user, bad as Uint8Array)).toThrow(TypeError);
      expect(() => server.broadcast(bad as Uint8Array)).toThrow(TypeError);
      expect(() => server.broadcastChunk(bad as Uint8Array)).toThrow(TypeError);
    }
    expect(() => client.sendChunk('héllo' as unknown as Uint8Array)).toThrow('chunk must be a Uint8Array, got a string (encode text first, e.g. new TextEncoder().encode(text))');
    expect(client.sendChunk(Buffer.from('héllo'))).toBe(true);
  });
});

describe('unknown options are refused (item 10)', () => {
  it('PeoteServer and PeoteClient name the unknown key', () => {
    expect(() => new PeoteServer({ onDatachunk: () => undefined } as never)).toThrow(/^PeoteServer: unknown option 'onDatachunk' \(known: onCreate, /);
    expect(() => new PeoteClient({ maxChunksize: 10 } as never)).toThrow(/^PeoteClient: unknown option 'maxChunksize'/);
    expect(() => new PeoteClient('x' as never)).toThrow(/^PeoteClient: options must be an object, got a string/);
  });
});

describe('RpcTypes maps accept null as count 0 (item 14)', () => {
  for (const [name, type] of [
    ['map', T.map(T.string, T.int32)],
    ['intMap', T.intMap(T.string)],
    ['stringMap', T.stringMap(T.bool)],
  ] as const) {
    it(`${name}: null and undefined are sent as count 0 and read as an empty Map`, () => {
      for (const value of [null, undefined]) {
        const out = new PeoteBytesOutput();
        type.write(out, value as never);
        const bytes = out.getBytes();
        expect([...bytes]).toEqual([0]);
        const read = type.read(new PeoteBytesInput(bytes));
        expect(read).toEqual(new Map());
      }
    });
    it(`${name}: a value that is not a Map is a TypeError naming the type`, () => {
      expect(() => type.write(new PeoteBytesOutput(), {} as never)).toThrow(/^a map<[a-z0-9,]+> argument must be a Map or null, got an object$/);
    });
  }
});

describe('inspect output is short (item 11)', () => {
  it('a server and a client print one line', async () => {
    const server = track(new PeoteServer({ offline: true, netLag: 0, onDataChunk: () => undefined }));
    const client = track(new PeoteClient({ onDataChunk: () => undefined }));
    expect(inspect(server)).toBe('PeoteServer { chunk mode, no joint, idle }');
    server.create('h', 1, 'lobby');
    client.enter('h', 1, 'lobby');
    await until(() => client.entered);
    expect(inspect(server)).toMatch(/^PeoteServer \{ chunk mode, joint 'lobby' at h:1 \(offline\), created, jointNr \d+, 1 users \}$/);
    expect(inspect(client)).toMatch(/^PeoteClient \{ chunk mode, joint 'lobby' at h:1 \(local\), entered, jointNr \d+ \}$/);
    expect(inspect({ nested: client })).toContain("nested: PeoteClient { chunk mode, joint 'lobby'");
  });
});

describe('a failed create or enter leaves nothing open (item 5)', () => {
  it('the process exits by itself after both fail on a dead port', async () => {
    const dead = await deadPort();
    const run = await runSnippet(`
      import { PeoteServer, PeoteClient, Reason } from '${ROOT}/src/peote/index.ts';
      new PeoteServer({ onDataChunk() {}, onError: (s, u, r, cause) => console.log('server', Reason.describe(r, cause)) }).create('127.0.0.1', ${dead}, 'a');
      new PeoteClient({ onDataChunk() {}, onError: (c, r, cause) => console.log('client', Reason.describe(r, cause)) }).enter('127.0.0.1', ${dead}, 'b');
    `);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('server relay unreachable: connect to');
    expect(run.stdout).toContain('client relay unreachable: connect to');
  });
});

describe('PeoteBytesOutput refuses values of the wrong type (item 4)', () => {
  it('writeBytes with a string and writeString with a number are TypeErrors naming the method', () => {
    const out = new PeoteBytesOutput();
    expect(thrown(() => out.writeBytes('héllo' as never))).toBe(
      'TypeError: writeBytes: value must be a Uint8Array, got a string (encode text first, e.g. new TextEncoder().encode(text))',
    );
    expect(thrown(() => out.writeString(5 as never))).toBe('TypeError: writeString: value must be a string, got a number');
    expect(out.getBytes().length).toBe(0);
  });
});
