#include "event-ring.h"

#include <cstring>

namespace gamewire {

namespace {

// A double that is an integer in [lo, hi]; NaN fails every comparison.
bool IsIntegerIn(double v, double lo, double hi) {
  return v >= lo && v <= hi && static_cast<double>(static_cast<int64_t>(v)) == v;
}

}  // namespace

EventRing::EventRing(uint32_t capacity, size_t arena_bytes)
    : capacity_(capacity == 0 ? 1 : capacity), arena_bytes_(arena_bytes), entries_(capacity_) {}

void EventRing::Reset() {
  read_ = 0;
  write_ = 0;
  wrap_at_ = 0;
  wrapped_ = false;
  live_bytes_ = 0;
}

void EventRing::DropOldest() {
  const Entry& e = entries_[head_];
  head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
  --size_;
  ++dropped_;
  if (e.length == 0) return;
  live_bytes_ -= e.length;
  if (live_bytes_ == 0) {
    Reset();
    return;
  }
  read_ = e.offset + e.length;
  // The last payload before the wrap is gone: the live bytes now start at 0.
  if (wrapped_ && read_ == wrap_at_) {
    read_ = 0;
    wrapped_ = false;
  }
}

int64_t EventRing::Push(int32_t kind, double peer, double timestamp, const uint8_t* payload, size_t len,
                        uint8_t* arena) {
  if (len > arena_bytes_) return -static_cast<int64_t>(Status::kRingPayloadTooLarge);
  if (len != 0 && (payload == nullptr || arena == nullptr)) return -static_cast<int64_t>(kMisuse);
  const uint64_t dropped_before = dropped_;
  if (size_ == capacity_) DropOldest();
  size_t at = 0;  // zero-length payloads take no arena bytes and report offset 0
  if (len != 0) {
    for (;;) {
      if (live_bytes_ == 0) {
        at = 0;  // Reset() already put the FIFO at 0
        break;
      }
      if (!wrapped_) {
        if (arena_bytes_ - write_ >= len) {
          at = write_;
          break;
        }
        if (read_ >= len) {
          wrap_at_ = write_;
          wrapped_ = true;
          at = 0;
          break;
        }
      } else if (read_ - write_ >= len) {
        at = write_;
        break;
      }
      // live_bytes_ > 0 means size_ > 0, so there is an entry to drop; each drop frees bytes
      // or a zero-length entry, and an empty FIFO always fits len <= arena_bytes_.
      DropOldest();
    }
    std::memmove(arena + at, payload, len);
    write_ = at + len;
    live_bytes_ += len;
  }
  const uint32_t tail = static_cast<uint32_t>((static_cast<uint64_t>(head_) + size_) % capacity_);
  entries_[tail] = Entry{kind, peer, timestamp, at, len};
  ++size_;
  return static_cast<int64_t>(dropped_ - dropped_before);
}

int64_t EventRing::PushBatch(const double* meta, int32_t count, const uint8_t* payloads, size_t payloads_len,
                             uint8_t* arena) {
  if (count <= 0) return 0;
  if (meta == nullptr) return -static_cast<int64_t>(kMisuse);
  const double span_max = static_cast<double>(payloads_len);
  for (int32_t i = 0; i < count; ++i) {
    const double* m = meta + static_cast<size_t>(i) * kEntryStride;
    if (!IsIntegerIn(m[0], INT32_MIN, INT32_MAX) || !IsIntegerIn(m[3], 0, span_max) ||
        !IsIntegerIn(m[4], 0, span_max) || static_cast<size_t>(m[4]) > payloads_len - static_cast<size_t>(m[3])) {
      return -static_cast<int64_t>(kMisuse);
    }
  }
  int64_t total = 0;
  for (int32_t i = 0; i < count; ++i) {
    const double* m = meta + static_cast<size_t>(i) * kEntryStride;
    const size_t off = static_cast<size_t>(m[3]);
    const int64_t r = Push(static_cast<int32_t>(m[0]), m[1], m[2], payloads + off, static_cast<size_t>(m[4]), arena);
    if (r < 0) return r;
    total += r;
  }
  return total;
}

int32_t EventRing::Poll(double* out) {
  const uint32_t n = size_;
  if (out == nullptr) return 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Entry& e = entries_[(static_cast<uint64_t>(head_) + i) % capacity_];
    double* o = out + static_cast<size_t>(i) * kEntryStride;
    o[0] = e.kind;
    o[1] = e.peer;
    o[2] = e.timestamp;
    o[3] = static_cast<double>(e.offset);
    o[4] = static_cast<double>(e.length);
  }
  head_ = 0;
  size_ = 0;
  Reset();
  return static_cast<int32_t>(n);
}

}  // namespace gamewire
