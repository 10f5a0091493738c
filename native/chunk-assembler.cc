// Twin of src/core/chunk-assembler.ts; read them side by side (STYLE.md §2).
#include "chunk-assembler.h"

#include <cassert>

namespace gamewire {

namespace {

// What one pass of the loop did: moved on, or stopped (input ended or units full).
// A positive value is an error Status.
constexpr int32_t kStepProgress = -1;
constexpr int32_t kStepStop = -2;

// Whole chunks only: every unit is both the start and the end of its chunk.
constexpr int32_t kWholeChunk = kFlagFrameStart | kFlagFrameEnd;

}  // namespace

ChunkAssembler::ChunkAssembler(uint32_t max_chunk_bytes, int32_t prefix_bytes, int32_t max_streams)
    : max_chunk_bytes_(max_chunk_bytes), prefix_bytes_(prefix_bytes), streams_(static_cast<size_t>(max_streams)) {
  assert(prefix_bytes >= kMinVarintBytes && prefix_bytes <= kMaxVarintBytes);
  assert(max_chunk_bytes >= 1 && max_chunk_bytes <= VarintMax(prefix_bytes) + 1);
  assert(max_streams >= 1);
}

void ChunkAssembler::DropStream(int32_t stream) {
  assert(stream >= 0 && static_cast<size_t>(stream) < streams_.size());
  if (stream < 0 || static_cast<size_t>(stream) >= streams_.size()) return;
  // A fresh Stream also releases the pending buffer.
  streams_[static_cast<size_t>(stream)] = Stream();
}

int32_t ChunkAssembler::Feed(int32_t stream, const uint8_t* input, size_t length, int32_t* units,
                             int32_t max_units) {
  consumed_ = 0;
  carry_.size = 0;  // non-zero afterwards only when this call produced an InCarry unit
  assert(stream >= 0 && static_cast<size_t>(stream) < streams_.size());
  if (stream < 0 || static_cast<size_t>(stream) >= streams_.size()) return 0;
  Stream& s = streams_[static_cast<size_t>(stream)];
  error_ = s.error;
  if (s.error != Status::kOk) return 0;  // sticky for this stream until DropStream
  const int32_t n = prefix_bytes_;
  size_t pos = 0;
  size_t unit_start = 0;  // where the chunk being read began in this input (0 if earlier)
  int32_t count = 0;
  int32_t step = kStepProgress;
  while (step == kStepProgress) {
    switch (s.state) {
      case State::Prefix: {
        // Bound units per call: stop before the next chunk; the caller feeds the rest.
        if (count == max_units) {
          step = kStepStop;
          break;
        }
        unit_start = s.prefix_have == 0 ? pos : 0;
        // joint.md §10.1, one byte at a time: the prefix may be split across feeds (§10.3).
        bool complete = false;
        while (pos < length) {
          const uint8_t byte = input[pos];
          const int32_t i = s.prefix_have;
          // A zero byte after the first adds nothing: a shorter form existed.
          if (i > 0 && byte == 0) {
            step = static_cast<int32_t>(Status::kVarintNonMinimal);
            break;
          }
          ++pos;
          ++s.prefix_have;
          if (i == n - 1) {
            // The N-th byte carries 8 full bits.
            s.prefix_value |= static_cast<uint32_t>(byte) << (kVarintGroupBits * i);
            complete = true;
            break;
          }
          s.prefix_value |= static_cast<uint32_t>(byte & kVarintGroupMask) << (kVarintGroupBits * i);
          if ((byte & kVarintMore) == 0) {
            complete = true;
            break;
          }
        }
        if (step != kStepProgress) break;
        if (!complete) {
          step = kStepStop;
          break;
        }
        // joint.md §10.2: the prefix is length - 1, so zero-length chunks cannot be expressed.
        s.chunk_length = s.prefix_value + 1;
        s.prefix_have = 0;
        s.prefix_value = 0;
        // joint.md §10.3: checked now, before one payload byte is buffered.
        if (s.chunk_length > max_chunk_bytes_) {
          step = static_cast<int32_t>(Status::kChunkTooLarge);
          break;
        }
        // The collector is empty here: a chunk handed out and DropStream() both leave it so.
        s.state = State::Payload;
        break;
      }
      case State::Payload: {
        int32_t* unit = units + count * kChunkUnitStride;
        if (s.body.fill() == 0 && length - pos >= s.chunk_length) {
          // Wholly inside this input: a borrowed view, no copy.
          unit[0] = kWholeChunk;
          unit[1] = static_cast<int32_t>(pos);
          unit[2] = static_cast<int32_t>(s.chunk_length);
          pos += s.chunk_length;
        } else {
          const size_t next = s.body.Collect(input, pos, length, s.chunk_length, max_chunk_bytes_, carry_, unit);
          if (next == kBodyNeedMore) {
            pos = length;
            step = kStepStop;
            break;
          }
          pos = next;
        }
        ++count;
        s.state = State::Prefix;
        break;
      }
    }
  }
  if (step != kStepStop) {
    // An error fails only this stream.
    s.error = static_cast<Status>(step);
    error_ = s.error;
    consumed_ = unit_start;
    return count;
  }
  consumed_ = pos;
  return count;
}

}  // namespace gamewire
