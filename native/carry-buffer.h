// The pending/carry buffers of the length-prefixed stream parsers (FrameDecoder, ChunkAssembler);
// twin of src/core/carry-buffer.ts: same growth, same BodyCollector steps. A body split across
// calls is copied into a pending buffer that grows with the bytes that arrived, doubling from
// kMinPendingBytes up to the parser's limit, never to the declared length at once (a bare
// prefix must not make us allocate the limit: memory amplification by a hostile peer).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "common.h"

namespace gamewire {

// Smallest pending buffer worth allocating (bytes); growth doubles from here up to the limit.
constexpr size_t kMinPendingBytes = 256;

// Appends src[0, n) to `pending`, which holds `fill` bytes, first growing it (keeping its
// contents) when fill + n bytes do not fit. fill + n <= limit.
inline void AppendPending(std::vector<uint8_t>& pending, size_t fill, const uint8_t* src, size_t n, size_t limit) {
  if (pending.size() < fill + n) {
    const size_t size = std::max({fill + n, pending.size() * 2, kMinPendingBytes});
    pending.resize(std::min(size, limit));
  }
  std::memcpy(pending.data() + fill, src, n);
}

// The buffer a parser's InCarry units point into (one per parser, CarryBuffer in TS). A
// completed split body is swapped in here from its collector's pending buffer, so a new partial
// body later in the same call cannot overwrite it.
struct CarryBuffer {
  std::vector<uint8_t> bytes;
  // Length of the last call's InCarry unit, 0 when it produced none (the binding copies this
  // much into the JS carry; the TS twin hands out `bytes` itself and needs no size).
  size_t size = 0;
};

// BodyCollector::Collect's result when the input ended inside the body: all of it is pending.
constexpr size_t kBodyNeedMore = SIZE_MAX;

// A body split across calls (BodyCollector in TS): one per frame decoder, one per chunk stream.
// While fill() is 0 the parser itself takes a body that lies wholly inside its input as a
// borrowed view, inline (its hot path: no call and no result to check per unit; issue 15
// measured a shared per-unit call 3-16% slower); every other body is collected here, in a
// pending buffer grown up to the parser's limit and reused.
class BodyCollector {
 public:
  // Bytes of the body being read that are already pending; 0 between bodies.
  size_t fill() const { return fill_; }

  // Forgets a partly collected body; keeps the buffer for reuse.
  void Reset() { fill_ = 0; }

  // Collects the body of `length` bytes (1..limit), or the rest of it, at input[pos, end)
  // (pos <= end); when it is complete, swaps it into `carry` and writes its unit
  // [flags, offset, length] to `unit`: InCarry, offset 0 of carry.bytes. Returns the position
  // after the body in `input`, or kBodyNeedMore when the input ended first.
  size_t Collect(const uint8_t* input, size_t pos, size_t end, size_t length, size_t limit, CarryBuffer& carry,
                 int32_t* unit) {
    if (pos == end) return kBodyNeedMore;
    const size_t take = std::min(end - pos, length - fill_);
    // Grow with the bytes that arrived, not the declared length: a bare prefix must not make us
    // allocate the limit (per frame decoder, per chunk stream: memory amplification by a hostile peer).
    AppendPending(pending_, fill_, input + pos, take, limit);
    fill_ += take;
    if (fill_ < length) return kBodyNeedMore;
    // Complete: hand it out from the carry, and keep the old carry for the next split body.
    std::swap(pending_, carry.bytes);
    carry.size = length;
    fill_ = 0;
    unit[0] = kCarriedUnit;
    unit[1] = 0;
    unit[2] = static_cast<int32_t>(length);
    return pos + take;
  }

 private:
  // A completed split body: whole (the start and the end of its frame or chunk), in the carry.
  static constexpr int32_t kCarriedUnit = kFlagFrameStart | kFlagFrameEnd | kFlagInCarry;

  std::vector<uint8_t> pending_;
  // Bytes of the body being read that are in pending_.
  size_t fill_ = 0;
};

}  // namespace gamewire
