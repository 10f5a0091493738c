// The pending buffer of the length-prefixed stream parsers (FrameDecoder, ChunkAssembler); twin
// of src/core/carry-buffer.ts. A body split across calls is copied into it; it grows with the
// bytes that arrived, doubling from kMinPendingBytes up to the parser's limit, never to the
// declared length at once (a bare prefix must not make us allocate the limit: memory
// amplification by a hostile peer).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

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

}  // namespace gamewire
