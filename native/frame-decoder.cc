// Twin of src/core/frame-decoder.ts; read them side by side (STYLE.md §2).
#include "frame-decoder.h"

#include <cassert>

namespace gamewire {

namespace {

// What one pass of the loop did: moved on, or stopped (input ended or units full).
// A positive value is an error Status.
constexpr int32_t kStepProgress = -1;
constexpr int32_t kStepStop = -2;

// Whole frames only: every unit is both the start and the end of its frame.
constexpr int32_t kWholeFrame = kFlagFrameStart | kFlagFrameEnd;

}  // namespace

FrameDecoder::FrameDecoder(uint32_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {
  assert(max_frame_bytes >= 1);
}

void FrameDecoder::Reset() {
  state_ = State::Prefix;
  error_ = Status::kOk;
  consumed_ = 0;
  prefix_have_ = 0;
  prefix_value_ = 0;
  body_length_ = 0;
  body_.Reset();
  carry_.size = 0;
}

int32_t FrameDecoder::Feed(const uint8_t* input, size_t length, int32_t* units, int32_t max_units) {
  consumed_ = 0;
  carry_.size = 0;  // non-zero afterwards only when this call produced an InCarry unit
  if (error_ != Status::kOk) return 0;  // sticky until Reset()
  size_t pos = 0;
  size_t unit_start = 0;  // where the frame being read began in this input (0 if earlier)
  int32_t count = 0;
  int32_t step = kStepProgress;
  while (step == kStepProgress) {
    switch (state_) {
      case State::Prefix: {
        // Bound units per call: stop before the next frame; the caller feeds the rest.
        if (count == max_units) {
          step = kStepStop;
          break;
        }
        unit_start = prefix_have_ == 0 ? pos : 0;
        if (prefix_have_ == 0 && length - pos >= kFramePrefixBytes) {
          prefix_value_ = static_cast<uint32_t>(input[pos]) | (static_cast<uint32_t>(input[pos + 1]) << 8) |
                          (static_cast<uint32_t>(input[pos + 2]) << 16) |
                          (static_cast<uint32_t>(input[pos + 3]) << 24);
          pos += kFramePrefixBytes;
        } else {
          // A prefix split across reads is kept in state, byte by byte.
          while (prefix_have_ < kFramePrefixBytes && pos < length) {
            prefix_value_ |= static_cast<uint32_t>(input[pos]) << (8 * prefix_have_);
            ++prefix_have_;
            ++pos;
          }
          if (prefix_have_ < kFramePrefixBytes) {
            step = kStepStop;
            break;
          }
        }
        body_length_ = prefix_value_;
        prefix_have_ = 0;
        prefix_value_ = 0;
        // Empty frames cost a unit and carry nothing (ws: empty units count toward limits).
        if (body_length_ == 0) {
          step = static_cast<int32_t>(Status::kFrameEmpty);
          break;
        }
        // The limit is checked now, before one body byte is buffered.
        if (body_length_ > max_frame_bytes_) {
          step = static_cast<int32_t>(Status::kFrameTooLarge);
          break;
        }
        // The collector is empty here: a body handed out and Reset() both leave it so.
        state_ = State::Body;
        break;
      }
      case State::Body: {
        int32_t* unit = units + count * kFrameUnitStride;
        if (body_.fill() == 0 && length - pos >= body_length_) {
          // Wholly inside this input: a borrowed view, no copy.
          unit[0] = kWholeFrame;
          unit[1] = static_cast<int32_t>(pos);
          unit[2] = static_cast<int32_t>(body_length_);
          pos += body_length_;
        } else {
          const size_t next = body_.Collect(input, pos, length, body_length_, max_frame_bytes_, carry_, unit);
          if (next == kBodyNeedMore) {
            pos = length;
            step = kStepStop;
            break;
          }
          pos = next;
        }
        ++count;
        state_ = State::Prefix;
        break;
      }
    }
  }
  if (step != kStepStop) {
    error_ = static_cast<Status>(step);
    consumed_ = unit_start;
    return count;
  }
  consumed_ = pos;
  return count;
}

}  // namespace gamewire
