// EventRing: a fixed-capacity FIFO of events (kind, peer, timestamp, payload) (DESIGN.md
// "Events and errors"). Payloads live in an arena the caller owns (JS allocates it once and
// passes it on every call), used as a circular byte FIFO: each payload is contiguous; one that
// does not fit before the end wraps to 0, wasting the tail. A full ring drops its oldest entry;
// an arena short of space drops oldest entries until the payload fits; every drop is counted.
// This class keeps offsets only, never a pointer into the arena past a call.
// Twin of src/core/event-ring.ts: the same pushes drop the same entries and give the same offsets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.h"

namespace gamewire {

class EventRing {
 public:
  // Float64 slots per entry, in Poll's output and PushBatch's meta (RING_ENTRY_STRIDE):
  // [kind, peer, timestamp, offset, length].
  static constexpr size_t kEntryStride = 5;
  // Status for calls the binding must never make (a payload span outside its buffer, a kind
  // that is not an int32, a null arena). common.h has no misuse code; the binding throws
  // RangeError before calling, so the core only refuses.
  static constexpr Status kMisuse = Status::kRingPayloadTooLarge;

  // capacity >= 1 (the binding rejects 0; 0 is treated as 1 so no state is unreachable).
  // arena_bytes is the length of the arena every call passes.
  EventRing(uint32_t capacity, size_t arena_bytes);

  // Queues one event, copying payload[0, len) into arena (memmove: the payload may come from
  // the arena itself, e.g. a polled entry pushed again).
  // Returns the entries dropped to make room (>= 0), or -kRingPayloadTooLarge when
  // len > arena_bytes (nothing dropped, nothing queued).
  int64_t Push(int32_t kind, double peer, double timestamp, const uint8_t* payload, size_t len, uint8_t* arena);

  // meta holds count × kEntryStride doubles [kind, peer, timestamp, offset, length] with
  // offsets into payloads. Every entry is checked first (kind an int32, span inside payloads);
  // a bad one returns -kMisuse before anything is queued. Then pushes in order.
  // Returns the total dropped, or the first negative status (earlier pushes stay queued).
  int64_t PushBatch(const double* meta, int32_t count, const uint8_t* payloads, size_t payloads_len, uint8_t* arena);

  // Writes every entry, oldest first, as kEntryStride doubles into out (capacity × kEntryStride
  // slots), empties the ring and returns the count. Offsets point into the arena and stay
  // valid until the next push.
  int32_t Poll(double* out);

  uint32_t size() const { return size_; }
  double dropped() const { return static_cast<double>(dropped_); }
  uint32_t capacity() const { return capacity_; }
  size_t arena_bytes() const { return arena_bytes_; }

 private:
  struct Entry {
    int32_t kind;
    double peer;
    double timestamp;
    size_t offset;
    size_t length;
  };

  void DropOldest();
  void Reset();

  uint32_t capacity_;
  size_t arena_bytes_;
  std::vector<Entry> entries_;
  uint32_t head_ = 0;  // index of the oldest entry
  uint32_t size_ = 0;
  uint64_t dropped_ = 0;
  // Byte FIFO. Not wrapped: live bytes in [read_, write_). Wrapped: [read_, wrap_at_) then
  // [0, write_), with write_ <= read_.
  size_t read_ = 0;
  size_t write_ = 0;
  size_t wrap_at_ = 0;
  bool wrapped_ = false;
  size_t live_bytes_ = 0;  // sum of queued payload lengths; 0 resets the FIFO to offset 0
};

}  // namespace gamewire
