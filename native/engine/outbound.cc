// Backlog and ChunkPool (outbound.h).
#ifdef __linux__
#include "outbound.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "engine-limits.h"

namespace gamewire {
namespace engine {

Chunk ChunkPool::Take(size_t at_least) {
  if (at_least <= kOutChunkBytes && !spares_.empty()) {
    Chunk c = std::move(spares_.back());
    spares_.pop_back();
    c.begin = c.end = 0;
    return c;
  }
  Chunk c;
  c.capacity = at_least > kOutChunkBytes ? at_least : kOutChunkBytes;
  c.data.reset(new uint8_t[c.capacity]);
  return c;
}

void ChunkPool::Give(Chunk chunk) {
  // Only standard chunks are kept: an oversize one (a frame larger than a chunk) is freed.
  if (chunk.capacity != kOutChunkBytes || spares_.size() >= kSpareChunksMax) return;
  spares_.push_back(std::move(chunk));
}

uint8_t* Backlog::Reserve(ChunkPool* pool, size_t n) {
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().end < n) chunks_.push_back(pool->Take(n));
  Chunk& tail = chunks_.back();
  return tail.data.get() + tail.end;
}

void Backlog::Commit(size_t n) {
  chunks_.back().end += n;
  bytes_ += n;
}

void Backlog::Append(ChunkPool* pool, const uint8_t* data, size_t n) {
  // Copied in chunk-sized pieces so a long send (JavaScript's) never needs one huge chunk.
  while (n > 0) {
    const size_t room = chunks_.empty() ? 0 : chunks_.back().capacity - chunks_.back().end;
    const size_t take = room > 0 ? (room < n ? room : n) : (n < kOutChunkBytes ? n : kOutChunkBytes);
    uint8_t* at = Reserve(pool, take);
    std::memcpy(at, data, take);
    Commit(take);
    data += take;
    n -= take;
  }
}

size_t Backlog::Flush(int fd, ChunkPool* pool, int* error) {
  *error = 0;
  size_t total = 0;
  while (bytes_ > 0) {
    iovec iov[kMaxIovecs];
    int count = 0;
    size_t offered = 0;
    for (auto it = chunks_.begin(); it != chunks_.end() && count < kMaxIovecs; ++it) {
      if (it->end == it->begin) continue;
      iov[count].iov_base = it->data.get() + it->begin;
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
    while (!chunks_.empty()) {
      Chunk& front = chunks_.front();
      const size_t avail = front.end - front.begin;
      const size_t take = avail < left ? avail : left;
      front.begin += take;
      left -= take;
      if (front.begin != front.end) break;
      // Emptied: back to the pool, so an idle peer holds no chunk.
      pool->Give(std::move(front));
      chunks_.pop_front();
      if (left == 0) break;
    }
    // The kernel took less than offered: its buffer is full; EPOLLOUT says when to go on.
    if (static_cast<size_t>(n) < offered) break;
  }
  return total;
}

void Backlog::Clear(ChunkPool* pool) {
  for (auto& c : chunks_) pool->Give(std::move(c));
  chunks_.clear();
  bytes_ = 0;
}

}  // namespace engine
}  // namespace gamewire
#endif  // __linux__
