// A destination's outbound backlog: bytes queued toward one peer and not yet taken by its socket.
// Frames are written straight into the tail chunk (Reserve/Commit: no allocation per frame), and
// the whole backlog goes out in one writev per flush (DESIGN.md: one write per destination per
// read). Chunks come from and go back to a ChunkPool shared by the engine's connections, so an
// idle connection holds no chunk. A chunk is reference-counted: a broadcast's bytes are written
// once per jIn group and each member's backlog holds a range of the same chunk (Share), as the
// Node engine's broadcast run shares one buffer (src/relay/forwarding.ts). Plain C++17; no I/O
// but the sendmsg in Flush.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace gamewire {
namespace engine {

// Bytes written once, read by every backlog that holds a reference. Only a chunk with a single
// reference is written to (at `fill`); a shared one is read-only.
struct Chunk {
  std::unique_ptr<uint8_t[]> data;
  size_t capacity = 0;
  size_t fill = 0;    // bytes written
  uint32_t refs = 0;  // backlogs (and a broadcast run being written) holding it
};

// Drops one reference; at the last, the chunk goes back to `pool` (or is freed: pool null).
class ChunkPool;
void Unref(Chunk* chunk, ChunkPool* pool);

// Spare chunks of the standard size (kOutChunkBytes), bounded by kSpareChunksMax.
class ChunkPool {
 public:
  ChunkPool() = default;
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;
  ~ChunkPool();
  // A chunk with one reference, nothing written, room for at least `at_least` bytes.
  Chunk* Take(size_t at_least);
  void Give(Chunk* chunk);
  size_t spares() const { return spares_.size(); }

 private:
  std::vector<Chunk*> spares_;
};

// A backlog's range [begin, end) of one chunk.
struct Segment {
  Chunk* chunk;
  size_t begin;  // first unsent byte
  size_t end;    // after the last queued byte
};

class Backlog {
 public:
  Backlog() = default;
  Backlog(const Backlog&) = delete;
  Backlog& operator=(const Backlog&) = delete;
  Backlog(Backlog&& other) noexcept;
  Backlog& operator=(Backlog&& other) noexcept;
  // What is still queued is released without a pool (Clear gives it back to the pool first).
  ~Backlog();

  // Room for `n` contiguous bytes at the tail; write them, then Commit(n) (or fewer).
  uint8_t* Reserve(ChunkPool* pool, size_t n);
  void Commit(size_t n);
  void Append(ChunkPool* pool, const uint8_t* data, size_t n);
  // Queue bytes [begin, end) of a chunk others may hold too: a reference, no copy.
  void Share(Chunk* chunk, size_t begin, size_t end);

  // Bytes queued and not yet taken by the socket (shared ones count in full: they are owed).
  size_t bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }

  // One or more sendmsg calls (MSG_NOSIGNAL) until the backlog is empty or the socket would block.
  // Returns bytes taken by the kernel; sets *error to the errno of a failed write (0 otherwise).
  size_t Flush(int fd, ChunkPool* pool, int* error);

  // Drop everything queued (the connection is gone); chunks go back to the pool.
  void Clear(ChunkPool* pool);

 private:
  void PopFront(ChunkPool* pool);
  // segs_[head_, size) are queued; a vector with a head index, not a std::deque, because an
  // empty deque still allocates (about 600 bytes) and every idle connection has a Backlog.
  std::vector<Segment> segs_;
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace engine
}  // namespace gamewire
