// The N-byte varint of joint.md §10.1, shared by the chunk layer (N = prefix width) and the
// byte I/O layer (N = 4). Twin of src/core/varint.ts: same rules, same results.
//
// Bytes 1..N-1 carry 7 value bits each, least significant group first, bit 7 = "another byte
// follows". Byte N, if reached, carries 8 full value bits and no flag. Encoders emit the
// shortest form; a 0x00 byte in any position after the first is non-minimal (joint.md §10.1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common.h"

namespace gamewire {

// Format facts (joint.md §10.1); src/core/varint.ts exports the same values.
constexpr int32_t kMinVarintBytes = 1;
constexpr int32_t kMaxVarintBytes = 4;
// The continuation flag of bytes 1..N-1.
constexpr uint8_t kVarintMore = 0x80;
// Value bits of bytes 1..N-1.
constexpr uint8_t kVarintGroupMask = 0x7F;
constexpr int32_t kVarintGroupBits = 7;

// DecodeVarint's result when the input ends inside the varint ("wait", not "garbage").
constexpr int32_t kVarintNeedMore = 0;

// Largest value an N-byte varint holds: 2^(8 + 7(N-1)) - 1 (joint.md §10.1 table).
constexpr uint32_t VarintMax(int32_t n) {
  return (uint32_t{1} << (8 + kVarintGroupBits * (n - 1))) - 1;
}

// Largest chunk a 4-byte prefix expresses (value + 1): 2^29 (MAX_CHUNK_BYTES_LIMIT in TS).
constexpr uint32_t kMaxChunkBytesLimit = VarintMax(kMaxVarintBytes) + 1;

// The prefix width the original derives from maxChunkSize (joint.md §10.2):
// <= 256 -> 1, <= 32768 -> 2, <= 4194304 -> 3, else 4.
constexpr int32_t ChunkPrefixBytesFor(uint32_t max_chunk_bytes) {
  return max_chunk_bytes <= VarintMax(1) + 1   ? 1
         : max_chunk_bytes <= VarintMax(2) + 1 ? 2
         : max_chunk_bytes <= VarintMax(3) + 1 ? 3
                                               : 4;
}

// Bytes of the shortest N-byte encoding of `value`, or 0 when `value > VarintMax(n)`.
constexpr int32_t VarintLength(uint32_t value, int32_t n) {
  if (value > VarintMax(n)) return 0;
  int32_t bytes = 1;
  // Each byte before the N-th holds 7 bits; the N-th holds the remaining 8.
  while (bytes < n && (value >> (kVarintGroupBits * bytes)) != 0) ++bytes;
  return bytes;
}

// Writes the shortest N-byte encoding of `value` to `out`.
// Returns the bytes written, or 0 when `value > VarintMax(n)` or `capacity` is too small.
inline int32_t EncodeVarint(uint32_t value, int32_t n, uint8_t* out, size_t capacity) {
  const int32_t bytes = VarintLength(value, n);
  if (bytes == 0 || capacity < static_cast<size_t>(bytes)) return 0;
  for (int32_t i = 0; i < bytes - 1; ++i) {
    out[i] = static_cast<uint8_t>((value & kVarintGroupMask) | kVarintMore);
    value >>= kVarintGroupBits;
  }
  // The last byte is a group without the flag, or the N-th byte with 8 full bits.
  out[bytes - 1] = static_cast<uint8_t>(value);
  return bytes;
}

// Decodes one N-byte varint from `input[0, avail)` into `*value`.
// Returns the bytes read (1..N), kVarintNeedMore when the input ends inside it, or
// -kVarintNonMinimal when a byte after the first is 0x00.
inline int32_t DecodeVarint(const uint8_t* input, size_t avail, int32_t n, uint32_t* value) {
  uint32_t acc = 0;
  for (int32_t i = 0; i < n; ++i) {
    if (static_cast<size_t>(i) >= avail) return kVarintNeedMore;
    const uint8_t byte = input[i];
    // joint.md §10.1: a zero byte after the first adds nothing, so a shorter form existed.
    if (i > 0 && byte == 0) return -static_cast<int32_t>(Status::kVarintNonMinimal);
    if (i == n - 1) {
      acc |= static_cast<uint32_t>(byte) << (kVarintGroupBits * i);
      *value = acc;
      return i + 1;
    }
    acc |= static_cast<uint32_t>(byte & kVarintGroupMask) << (kVarintGroupBits * i);
    if ((byte & kVarintMore) == 0) {
      *value = acc;
      return i + 1;
    }
  }
  return kVarintNeedMore;  // unreachable for n >= 1
}

}  // namespace gamewire
