/**
 * What bench traffic looks like inside the mm, udp and events styles (docs/bench.md "What the
 * target must run"): the marks that tell a responder a message is bench traffic and what to do
 * with it, and the checksum an acknowledgement carries back. Shared by the drivers (the load
 * side) and the responders (the target side), so both read the same bytes.
 */

/** mm tables and events data carry this key; its value says what the message is. */
export const BENCH_TAG_KEY = 'gwbench';

/** Values of `BENCH_TAG_KEY` in mm tables. */
export const MmTag = {
  /**
   * client → server at open: `{ g }`, "count me as a bench client of group g". A broadcast
   * reaches the registered clients of the sender's group only: one group per load-generator
   * thread, since each thread's engine counts the deliveries of its own senders.
   */
  Hello: 'h',
  /** server → client: the hello was seen; the client is registered. */
  Welcome: 'w',
  /** c2s: `{ n, b }`; the server answers with an Ack. */
  C2s: 'c',
  /** server → client: `{ n, h }`, the c2s table's counter and the checksum of its `b`. */
  Ack: 'a',
  /** echo: the server sends the table back as it came. */
  Echo: 'e',
  /** broadcast: `{ o, b }`; the server sends it to every bench client of the sender's group, the sender too. */
  Broadcast: 'b',
} as const;

/** Values of `BENCH_TAG_KEY` in events data: `{ gwbench: 'v', b, h }`, judged LEGAL when `h` matches `b`. */
export const EventsTag = { Verdict: 'v' } as const;

/**
 * First byte of every bench datagram (udp). Not a letter, so no bench datagram can be read as a
 * UdpPipe control word (docs/udp.md "Words"), whatever its payload.
 */
export const UDP_BENCH_MARK = 0xb5;

/** Second byte of a bench datagram: what the responder does with it. */
export const UdpKind = {
  /** c2s: answered with an Ack carrying the token and the payload's checksum. */
  C2s: 0x01,
  /** echo: sent back unchanged. */
  Echo: 0x02,
  /** server → client: `[mark, Ack, token u32, checksum u32]`. */
  Ack: 0x81,
} as const;

/** Bytes before the payload in a c2s or echo datagram: mark, kind, token (u32, big-endian). */
export const UDP_HEADER_BYTES = 6;
/** Bytes of an Ack datagram: mark, kind, token, checksum (u32, big-endian). */
export const UDP_ACK_BYTES = 10;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a (32 bits) of a string's UTF-16 code units: the checksum an mm ack or an events verdict
 * vouches for. Not a MAC: it catches a server that mangles payloads, not an attacker.
 */
export function checksumString(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** FNV-1a (32 bits) of `bytes[start, end)`: the checksum a udp ack carries. */
export function checksumBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

/**
 * The ack of a c2s bench datagram: `[mark, Ack, its token, checksum of its payload]`.
 * @param datagram a c2s datagram, at least UDP_HEADER_BYTES long (the caller checked its mark and kind)
 * @returns a new UDP_ACK_BYTES buffer: the socket may still hold the previous ack this turn
 */
export function udpAck(datagram: Uint8Array): Buffer {
  const ack = Buffer.allocUnsafe(UDP_ACK_BYTES);
  ack[0] = UDP_BENCH_MARK;
  ack[1] = UdpKind.Ack;
  ack[2] = datagram[2]!;
  ack[3] = datagram[3]!;
  ack[4] = datagram[4]!;
  ack[5] = datagram[5]!;
  ack.writeUInt32BE(checksumBytes(datagram, UDP_HEADER_BYTES, datagram.length), 6);
  return ack;
}
