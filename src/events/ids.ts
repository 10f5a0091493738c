/**
 * Identifiers and timestamps in the original's text forms (neteria.md §1): uuid1 strings for
 * cuuid / euuid and Python `str(datetime.now())` timestamps. Receivers treat both as opaque; we
 * only match the shapes so that logs and captures look like the original's.
 */
import { randomBytes } from 'node:crypto';

// 100-ns intervals between 1582-10-15 (the uuid epoch) and 1970-01-01, in milliseconds.
const UUID_EPOCH_OFFSET_MS = 12_219_292_800_000n;
const TICKS_PER_MS = 10_000n;

/**
 * Makes RFC 4122 version-1 (time-based) uuid text. The node id is random with the multicast
 * bit set (RFC 4122 §4.5: no MAC address leaks); the clock sequence is random per generator.
 * Ids made in the same millisecond take successive 100-ns ticks, so they stay unique and
 * ordered up to 10 000 per millisecond per generator (past that the clock sequence advances).
 */
export class Uuid1Generator {
  private readonly node: string;
  private clockSeq: number;
  private lastMs = -1;
  private tick = 0;

  constructor() {
    const rnd = randomBytes(8);
    rnd[0] = rnd[0]! | 0x01;
    this.node = rnd.subarray(0, 6).toString('hex');
    this.clockSeq = rnd.readUInt16BE(6) & 0x3fff;
  }

  /** The next id, e.g. `8332ca32-e6b4-11f1-825f-02fc00000001`. */
  next(nowMs: number = Date.now()): string {
    if (nowMs === this.lastMs) {
      if (++this.tick >= 10_000) {
        this.tick = 0;
        this.clockSeq = (this.clockSeq + 1) & 0x3fff;
      }
    } else {
      if (nowMs < this.lastMs) this.clockSeq = (this.clockSeq + 1) & 0x3fff; // clock went back
      this.lastMs = nowMs;
      this.tick = 0;
    }
    const t = (BigInt(nowMs) + UUID_EPOCH_OFFSET_MS) * TICKS_PER_MS + BigInt(this.tick);
    const timeLow = Number(t & 0xffffffffn);
    const timeMid = Number((t >> 32n) & 0xffffn);
    const timeHi = Number((t >> 48n) & 0x0fffn) | 0x1000;
    const seq = this.clockSeq | 0x8000;
    return `${hex(timeLow, 8)}-${hex(timeMid, 4)}-${hex(timeHi, 4)}-${hex(seq, 4)}-${this.node}`;
  }
}

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Local time in Python `str(datetime.now())` form: `2026-11-22 20:37:19.588732`, the fraction
 * omitted when it is zero, as Python does.
 * @param epochMs milliseconds since 1970, fractional part used for the microseconds; default now.
 */
export function pythonTimestamp(epochMs: number = performance.timeOrigin + performance.now()): string {
  const wholeMs = Math.floor(epochMs);
  const micros = Math.min(999_999, (wholeMs % 1000) * 1000 + Math.min(999, Math.round((epochMs - wholeMs) * 1000)));
  const d = new Date(wholeMs);
  const base =
    `${String(d.getFullYear()).padStart(4, '0')}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return micros === 0 ? base : `${base}.${String(micros).padStart(6, '0')}`;
}
