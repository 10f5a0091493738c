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

void Backlog::PopFront() {
  ++head_;
  if (head_ == chunks_.size()) {
    chunks_.clear();
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= chunks_.size()) {
    // Drop the spent slots now and then, so a long-lived backlog does not creep.
    chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

uint8_t* Backlog::Reserve(ChunkPool* pool, size_t n) {
  if (chunks_.size() == head_ || chunks_.back().capacity - chunks_.back().end < n) chunks_.push_back(pool->Take(n));
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
    const size_t room = chunks_.size() == head_ ? 0 : chunks_.back().capacity - chunks_.back().end;
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
    for (auto it = chunks_.begin() + static_cast<std::ptrdiff_t>(head_); it != chunks_.end() && count < kMaxIovecs; ++it) {
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
    while (head_ < chunks_.size()) {
      Chunk& first = front();
      const size_t avail = first.end - first.begin;
      const size_t take = avail < left ? avail : left;
      first.begin += take;
      left -= take;
      if (first.begin != first.end) break;
      // Emptied: back to the pool, so an idle peer holds no chunk.
      pool->Give(std::move(first));
      PopFront();
      if (left == 0) break;
    }
    // The kernel took less than offered: its buffer is full; EPOLLOUT says when to go on.
    if (static_cast<size_t>(n) < offered) break;
  }
  return total;
}

void Backlog::Clear(ChunkPool* pool) {
  for (size_t i = head_; i < chunks_.size(); ++i) pool->Give(std::move(chunks_[i]));
  std::vector<Chunk>().swap(chunks_);
  head_ = 0;
  bytes_ = 0;
}

}  // namespace engine
}  // namespace gamewire
#endif  // __linux__
