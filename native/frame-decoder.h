// FrameDecoder: splits gamewire's own frames, `u32 LE body length` then the body
// (docs/protocol.md), across arbitrary splits of the byte stream. Plain C++17: no napi, no
// exceptions, no I/O. Twin of src/core/frame-decoder.ts: same states, same check order, same
// codes, same units.
#pragma once

#include <cstddef>
#include <cstdint>

#include "carry-buffer.h"
#include "common.h"

namespace gamewire {

// Bytes of the frame length prefix (FRAME_PREFIX_BYTES in TS); a format fact.
constexpr int32_t kFramePrefixBytes = 4;
// Int32 slots per unit: [flags, offset, length] (FRAME_UNIT_STRIDE in TS).
constexpr int32_t kFrameUnitStride = 3;

class FrameDecoder {
 public:
  // `max_frame_bytes` >= 1: the largest accepted body (the binding checks the bound).
  explicit FrameDecoder(uint32_t max_frame_bytes);

  // Parses `input[0, length)`, writing up to `max_units` units of kFrameUnitStride slots to
  // `units`: [flags, offset, length]. A frame wholly inside `input` is a view (offset into
  // `input`); the one frame that began in an earlier call has kFlagInCarry and its offset is
  // into carry_data(). Returns the number of units; check error() and consumed() afterwards.
  int32_t Feed(const uint8_t* input, size_t length, int32_t* units, int32_t max_units);

  // Bytes of the last Feed's input consumed: less than its length only when the units filled
  // up or an error stopped parsing (then it is the offset of the offending prefix).
  size_t consumed() const { return consumed_; }
  // Status::kOk, or the error that stopped parsing; sticky until Reset().
  Status error() const { return error_; }
  // The buffer InCarry units point into; valid until the next Feed. carry_size() is the length
  // of the last Feed's InCarry unit, 0 when that Feed produced none.
  const uint8_t* carry_data() const { return carry_.bytes.data(); }
  size_t carry_size() const { return carry_.size; }

  // Forgets all state and any error; keeps the buffers for reuse.
  void Reset();

 private:
  enum class State : uint8_t { Prefix, Body };

  const uint32_t max_frame_bytes_;
  State state_ = State::Prefix;
  Status error_ = Status::kOk;
  size_t consumed_ = 0;
  // Prefix bytes seen so far (0..3 between calls) and their value.
  int32_t prefix_have_ = 0;
  uint32_t prefix_value_ = 0;
  // Body length of the frame being read.
  uint32_t body_length_ = 0;
  // A frame split across calls is assembled in body_; once complete it is swapped into
  // carry_, so a new partial frame later in the same call cannot overwrite it.
  BodyCollector body_;
  CarryBuffer carry_;
};

}  // namespace gamewire
