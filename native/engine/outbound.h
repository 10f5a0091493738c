// A destination's outbound backlog: bytes queued toward one peer and not yet taken by its socket.
// Frames are written straight into the tail chunk (Reserve/Commit: no allocation per frame), and
// the whole backlog goes out in one writev per flush (DESIGN.md: one write per destination per
// read). Chunks come from and go back to a ChunkPool shared by the engine's connections, so an
// idle connection holds no chunk. Plain C++17; no I/O but the one sendmsg in Flush.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace gamewire {
namespace engine {

struct Chunk {
  std::unique_ptr<uint8_t[]> data;
  size_t capacity = 0;
  size_t begin = 0;  // first unsent byte
  size_t end = 0;    // after the last queued byte
};

// Spare chunks of the standard size (kOutChunkBytes), bounded by kSpareChunksMax.
class ChunkPool {
 public:
  Chunk Take(size_t at_least);
  void Give(Chunk chunk);
  size_t spares() const { return spares_.size(); }

 private:
  std::vector<Chunk> spares_;
};

class Backlog {
 public:
  // Room for `n` contiguous bytes at the tail; write them, then Commit(n) (or fewer).
  uint8_t* Reserve(ChunkPool* pool, size_t n);
  void Commit(size_t n);
  void Append(ChunkPool* pool, const uint8_t* data, size_t n);

  // Bytes queued and not yet taken by the socket.
  size_t bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }

  // One or more sendmsg calls (MSG_NOSIGNAL) until the backlog is empty or the socket would block.
  // Returns bytes taken by the kernel; sets *error to the errno of a failed write (0 otherwise).
  size_t Flush(int fd, ChunkPool* pool, int* error);

  // Drop everything queued (the connection is gone); chunks go back to the pool.
  void Clear(ChunkPool* pool);

 private:
  Chunk& front() { return chunks_[head_]; }
  void PopFront();
  // chunks_[head_, size) are queued; a vector with a head index, not a std::deque, because an
  // empty deque still allocates (about 600 bytes) and every idle connection has a Backlog.
  std::vector<Chunk> chunks_;
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace engine
}  // namespace gamewire
