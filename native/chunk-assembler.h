// ChunkAssembler: reassembles chunks (joint.md §10: varint of length - 1 with N bytes, then the
// payload) per stream, across arbitrary splits. Plain C++17: no napi, no exceptions, no I/O.
// Twin of src/core/chunk-assembler.ts: same states, same check order, same codes, same units.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "carry-buffer.h"
#include "common.h"
#include "varint.h"

namespace gamewire {

// Int32 slots per unit: [flags, offset, length] (CHUNK_UNIT_STRIDE in TS).
constexpr int32_t kChunkUnitStride = 3;

class ChunkAssembler {
 public:
  // Preconditions (the binding checks them and throws RangeError): 1 <= prefix_bytes <= 4,
  // 1 <= max_chunk_bytes <= VarintMax(prefix_bytes) + 1, max_streams >= 1.
  ChunkAssembler(uint32_t max_chunk_bytes, int32_t prefix_bytes, int32_t max_streams);

  // Parses `input[0, length)` of stream `stream` (0 <= stream < max_streams), writing up to
  // `max_units` units of kChunkUnitStride slots: [flags, offset, length]. A chunk whose payload
  // is wholly inside `input` is a view; the one chunk that began in an earlier call has
  // kFlagInCarry and its offset is into carry_data(). Returns the number of units; error() is
  // this stream's state afterwards.
  int32_t Feed(int32_t stream, const uint8_t* input, size_t length, int32_t* units, int32_t max_units);

  // Forgets a stream's partial chunk and error, and frees its buffer (on disconnect).
  void DropStream(int32_t stream);

  // Bytes of the last Feed's input consumed: less than its length only when the units filled
  // up or an error stopped parsing (then it is the offset of the offending prefix).
  size_t consumed() const { return consumed_; }
  // The fed stream's state after the last Feed: Status::kOk or its sticky error.
  Status error() const { return error_; }
  // The buffer InCarry units point into; valid until the next Feed. carry_size() is the length
  // of the last Feed's InCarry unit, 0 when that Feed produced none.
  const uint8_t* carry_data() const { return carry_.bytes.data(); }
  size_t carry_size() const { return carry_.size; }

  uint32_t max_chunk_bytes() const { return max_chunk_bytes_; }
  int32_t prefix_bytes() const { return prefix_bytes_; }
  int32_t max_streams() const { return static_cast<int32_t>(streams_.size()); }

 private:
  enum class State : uint8_t { Prefix, Payload };

  struct Stream {
    State state = State::Prefix;
    Status error = Status::kOk;
    // Prefix bytes read so far (0..N-1 between calls) and the value decoded from them.
    int32_t prefix_have = 0;
    uint32_t prefix_value = 0;
    // Length of the chunk being read.
    uint32_t chunk_length = 0;
    // A chunk split across calls is assembled here (grown up to max_chunk_bytes, reused).
    BodyCollector body;
  };

  const uint32_t max_chunk_bytes_;
  const int32_t prefix_bytes_;
  std::vector<Stream> streams_;
  Status error_ = Status::kOk;
  size_t consumed_ = 0;
  // A completed split chunk is swapped here from its stream's pending buffer, so a new partial
  // chunk later in the same call cannot overwrite it.
  CarryBuffer carry_;
};

}  // namespace gamewire
