// Backlog and ChunkPool (outbound.h).
#ifdef __linux__
#include "outbound.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine-limits.h"

namespace gamewire {
namespace engine {

void Unref(Chunk* chunk, ChunkPool* pool) {
  if (--chunk->refs > 0) return;
  if (pool != nullptr) pool->Give(chunk);
  else delete chunk;
}

ChunkPool::~ChunkPool() {
  for (Chunk* c : spares_) delete c;
}

Chunk* ChunkPool::Take(size_t at_least) {
  Chunk* c;
  if (at_least <= kOutChunkBytes && !spares_.empty()) {
    c = spares_.back();
    spares_.pop_back();
  } else {
    c = new Chunk();
    c->capacity = at_least > kOutChunkBytes ? at_least : kOutChunkBytes;
    c->data.reset(new uint8_t[c->capacity]);
  }
  c->fill = 0;
  c->refs = 1;
  return c;
}

void ChunkPool::Give(Chunk* chunk) {
  // Only standard chunks are kept: an oversize one (a frame larger than a chunk) is freed.
  if (chunk->capacity != kOutChunkBytes || spares_.size() >= kSpareChunksMax) {
    delete chunk;
    return;
  }
  spares_.push_back(chunk);
}

Backlog::Backlog(Backlog&& other) noexcept
    : segs_(std::move(other.segs_)), head_(other.head_), bytes_(other.bytes_) {
  other.segs_.clear();
  other.head_ = 0;
  other.bytes_ = 0;
}

Backlog& Backlog::operator=(Backlog&& other) noexcept {
  if (this != &other) {
    Clear(nullptr);
    segs_.swap(other.segs_);
    head_ = other.head_;
    bytes_ = other.bytes_;
    other.head_ = 0;
    other.bytes_ = 0;
  }
  return *this;
}

Backlog::~Backlog() { Clear(nullptr); }

void Backlog::PopFront(ChunkPool* pool) {
  Unref(segs_[head_].chunk, pool);
  ++head_;
  if (head_ == segs_.size()) {
    segs_.clear();
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= segs_.size()) {
    // Drop the spent slots now and then, so a long-lived backlog does not creep.
    segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

uint8_t* Backlog::Reserve(ChunkPool* pool, size_t n) {
  // The tail chunk takes more only while this backlog alone holds it and its range ends where
  // the chunk's bytes do (a shared chunk is never written again).
  if (segs_.size() != head_) {
    Segment& tail = segs_.back();
    Chunk* c = tail.chunk;
    if (c->refs == 1 && tail.end == c->fill && c->capacity - c->fill >= n) return c->data.get() + c->fill;
  }
  Chunk* c = pool->Take(n);
  segs_.push_back(Segment{c, 0, 0});
  return c->data.get();
}

void Backlog::Commit(size_t n) {
  Segment& tail = segs_.back();
  tail.end += n;
  tail.chunk->fill += n;
  bytes_ += n;
}

void Backlog::Append(ChunkPool* pool, const uint8_t* data, size_t n) {
  // Copied in chunk-sized pieces so a long send (JavaScript's) never needs one huge chunk.
  while (n > 0) {
    size_t room = 0;
    if (segs_.size() != head_) {
      const Segment& tail = segs_.back();
      const Chunk* c = tail.chunk;
      if (c->refs == 1 && tail.end == c->fill) room = c->capacity - c->fill;
    }
    const size_t take = room > 0 ? (room < n ? room : n) : (n < kOutChunkBytes ? n : kOutChunkBytes);
    uint8_t* at = Reserve(pool, take);
    std::memcpy(at, data, take);
    Commit(take);
    data += take;
    n -= take;
  }
}

void Backlog::Share(Chunk* chunk, size_t begin, size_t end) {
  if (end == begin) return;
  bytes_ += end - begin;
  if (segs_.size() != head_) {
    Segment& tail = segs_.back();
    // Right behind the range this backlog already holds of the same chunk: one reference serves.
    if (tail.chunk == chunk && tail.end == begin) {
      tail.end = end;
      return;
    }
  }
  chunk->refs++;
  segs_.push_back(Segment{chunk, begin, end});
}

size_t Backlog::Flush(int fd, ChunkPool* pool, int* error) {
  *error = 0;
  size_t total = 0;
  while (bytes_ > 0) {
    iovec iov[kMaxIovecs];
    int count = 0;
    size_t offered = 0;
    for (auto it = segs_.begin() + static_cast<std::ptrdiff_t>(head_); it != segs_.end() && count < kMaxIovecs; ++it) {
      if (it->end == it->begin) continue;
      iov[count].iov_base = it->chunk->data.get() + it->begin;
      iov[count].iov_len = it->end - it->begin;
      offered += iov[count].iov_len;
      ++count;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *error = errno;
      break;
    }
    size_t left = static_cast<size_t>(n);
    total += left;
    bytes_ -= left;
    while (head_ < segs_.size()) {
      Segment& first = segs_[head_];
      const size_t avail = first.end - first.begin;
      const size_t take = avail < left ? avail : left;
      first.begin += take;
      left -= take;
      if (first.begin != first.end) break;
      // Emptied: its reference goes, so an idle peer holds no chunk.
      PopFront(pool);
      if (left == 0) break;
    }
    // The kernel took less than offered: its buffer is full; EPOLLOUT says when to go on.
    if (static_cast<size_t>(n) < offered) break;
  }
  return total;
}

void Backlog::Clear(ChunkPool* pool) {
  for (size_t i = head_; i < segs_.size(); ++i) Unref(segs_[i].chunk, pool);
  std::vector<Segment>().swap(segs_);
  head_ = 0;
  bytes_ = 0;
}

}  // namespace engine
}  // namespace gamewire
#endif  // __linux__
