/**
 * Remote objects (joint.md §12) without macros: an interface is an ordered schema of functions
 * and their argument types; declaration order gives each function its index.
 *
 * ```ts
 * const Chat = defineRemote({ message: [RpcTypes.string, RpcTypes.bool], ping: [] });
 * server.setRemote(userNr, Chat.implement({ message: (text, loud) => ..., ping: () => {} }));
 * // on the peer, in onRemote(remoteId): const chat = Chat.proxy(remoteId, (chunk) => client.sendChunk(chunk));
 * chat.message('héllo', true);
 * ```
 */
import { PeoteBytesInput } from './peote-bytes-input.js';
import { PeoteBytesOutput } from './peote-bytes-output.js';
import { PeoteBytesError } from './bytes-error.js';
import { RPC_MAX_FUNCTIONS, RPC_MAX_REMOTE_ID, RPC_MAX_SCHEMA_DEPTH } from './limits.js';
import type { RpcArgs, RpcType } from './rpc-types.js';

/**
 * Throws a RangeError unless `remoteId` is a remote object id, 0..RPC_MAX_REMOTE_ID (joint.md §12).
 * Used by `encodeCall` and by both ends' `setRemote`.
 */
export function checkRemoteId(remoteId: number): void {
  if (!Number.isInteger(remoteId) || remoteId < 0 || remoteId > RPC_MAX_REMOTE_ID) {
    throw new RangeError(`remoteId must be 0..${RPC_MAX_REMOTE_ID}, got ${remoteId}`);
  }
}

/** Function name → argument types, in declaration order. */
export type RemoteSchema = { readonly [name: string]: readonly RpcType<any>[] };

/** Implementations of every function of a schema. */
export type RemoteImplementation<S extends RemoteSchema> = {
  [K in keyof S]: (...args: RpcArgs<S[K]>) => void;
};

/** A typed proxy: calling a method sends one call chunk. */
export type RemoteProxy<S extends RemoteSchema> = {
  [K in keyof S]: (...args: RpcArgs<S[K]>) => void;
};

/** An object registered with setRemote: its interface and implementation. */
export interface RemoteObject {
  readonly remote: RemoteInterface<RemoteSchema>;
  readonly implementation: Record<string, (...args: any[]) => void>;
}

/** Result of decoding one call chunk. */
export type DecodeResult =
  | { ok: true; remoteId: number; fnIndex: number; name: string; args: unknown[] }
  | { ok: false; reason: string };

/** A declared remote interface. */
export class RemoteInterface<S extends RemoteSchema> {
  /** Function names in declaration order: index = fnIndex. */
  readonly names: readonly string[];
  private readonly argTypes: readonly (readonly RpcType<any>[])[];

  /** @throws RangeError for more than 256 functions or a schema nested too deep */
  constructor(readonly schema: S) {
    this.names = Object.keys(schema);
    if (this.names.length > RPC_MAX_FUNCTIONS) {
      throw new RangeError(`a remote interface has at most ${RPC_MAX_FUNCTIONS} functions, got ${this.names.length}`);
    }
    this.argTypes = this.names.map((n) => schema[n]!);
    for (const [i, types] of this.argTypes.entries()) {
      for (const t of types) {
        if (t.depth > RPC_MAX_SCHEMA_DEPTH) throw new RangeError(`${this.names[i]}: type ${t.name} nested deeper than ${RPC_MAX_SCHEMA_DEPTH}`);
      }
    }
  }

  /** Pair this interface with an implementation, for setRemote. */
  implement(implementation: RemoteImplementation<S>): RemoteObject {
    for (const name of this.names) {
      if (typeof (implementation as Record<string, unknown>)[name] !== 'function') {
        throw new TypeError(`implementation lacks function ${name}`);
      }
    }
    return { remote: this as unknown as RemoteInterface<RemoteSchema>, implementation: implementation as RemoteObject['implementation'] };
  }

  /**
   * Encode a call as one chunk payload: `[remoteId][fnIndex][args...]`.
   * @throws TypeError/RangeError for an unknown function, a wrong argument count or a value out of range
   */
  encodeCall<K extends keyof S & string>(remoteId: number, name: K, args: RpcArgs<S[K]>, out = new PeoteBytesOutput()): Uint8Array {
    checkRemoteId(remoteId);
    const index = this.names.indexOf(name);
    if (index < 0) throw new TypeError(`unknown remote function ${name}`);
    const types = this.argTypes[index]!;
    const list = args as unknown as unknown[];
    if (list.length !== types.length) throw new TypeError(`${name} takes ${types.length} arguments, got ${list.length}`);
    out.reset();
    out.writeByte(remoteId);
    out.writeByte(index);
    for (let i = 0; i < types.length; i++) types[i]!.write(out, list[i]);
    return out.getBytes();
  }

  /**
   * Decode the arguments of a call to this interface (the bytes after remoteId and fnIndex).
   * Never throws: truncation, bad varints and leftover bytes come back as `{ ok: false }`.
   */
  decodeArgs(remoteId: number, fnIndex: number, chunk: Uint8Array): DecodeResult {
    if (fnIndex >= this.names.length) return { ok: false, reason: `unknown function index ${fnIndex} for remote ${remoteId}` };
    const input = new PeoteBytesInput(chunk);
    try {
      input.readByte();
      input.readByte();
      const types = this.argTypes[fnIndex]!;
      const args: unknown[] = new Array(types.length);
      for (let i = 0; i < types.length; i++) args[i] = types[i]!.read(input);
      // joint.md §12: leftover bytes are an error (the original calls it "flooded").
      if (input.bytesLeft > 0) return { ok: false, reason: `${input.bytesLeft} bytes left over after the arguments` };
      return { ok: true, remoteId, fnIndex, name: this.names[fnIndex]!, args };
    } catch (err) {
      if (err instanceof PeoteBytesError || err instanceof RangeError) return { ok: false, reason: err.message };
      throw err;
    }
  }

  /**
   * A typed proxy whose calls encode exactly as the Haxe macro does and go to `send`.
   * @param send receives each call chunk (e.g. `(c) => client.sendChunk(c)`)
   */
  proxy(remoteId: number, send: (chunk: Uint8Array) => void): RemoteProxy<S> {
    const proxy: Record<string, (...args: unknown[]) => void> = {};
    const out = new PeoteBytesOutput();
    for (const name of this.names) {
      proxy[name] = (...args: unknown[]) => send(this.encodeCall(remoteId, name as keyof S & string, args as never, out));
    }
    return proxy as RemoteProxy<S>;
  }
}

/** Declare a remote interface; the order of the keys is the function order. */
export function defineRemote<S extends RemoteSchema>(schema: S): RemoteInterface<S> {
  return new RemoteInterface(schema);
}

/**
 * Dispatch one received call chunk to the objects registered on this side (remoteId → object).
 * @returns null when the call ran, or the reason it was refused (report as Reason.MALICIOUS)
 */
export function dispatchCall(chunk: Uint8Array, registry: ReadonlyMap<number, RemoteObject>): string | null {
  if (chunk.length < 2) return 'call chunk shorter than 2 bytes';
  const remoteId = chunk[0]!;
  const object = registry.get(remoteId);
  if (!object) return `no remote object with id ${remoteId}`;
  const decoded = object.remote.decodeArgs(remoteId, chunk[1]!, chunk);
  if (!decoded.ok) return decoded.reason;
  object.implementation[decoded.name]!(...decoded.args);
  return null;
}
