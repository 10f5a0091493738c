// A table of at most N entries keyed 0..N-1 (jIn, jOwn, userNr) that costs nothing while empty
// and little while small: entries packed in a vector, found by a linear scan while there are at
// most kLinearMax, through a key -> position index (made then) past that. Most connections own
// or enter one joint, so a fixed array per connection (1-3 KiB) would dominate an idle
// connection's memory (issue 13's budget); a full joint still finds a member in O(1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace gamewire {
namespace engine {

// T has a `uint16_t key` member. Pointers to entries are valid until the next Insert or Erase.
template <typename T, size_t N>
class SmallTable {
 public:
  static constexpr size_t kLinearMax = 8;

  T* Find(uint32_t key) {
    if (key >= N) return nullptr;
    if (index_) {
      const uint16_t p = index_[key];
      return p != 0 ? &items_[p - 1] : nullptr;
    }
    for (T& item : items_) {
      if (item.key == key) return &item;
    }
    return nullptr;
  }

  // Adds an entry for `key`, which must be absent; returns it.
  T& Insert(uint32_t key) {
    items_.emplace_back();
    items_.back().key = static_cast<uint16_t>(key);
    if (index_) {
      index_[key] = static_cast<uint16_t>(items_.size());
    } else if (items_.size() > kLinearMax) {
      index_.reset(new uint16_t[N]());
      for (size_t i = 0; i < items_.size(); ++i) index_[items_[i].key] = static_cast<uint16_t>(i + 1);
    }
    return items_.back();
  }

  // Removes the entry `item` points to (from Find).
  void Erase(T* item) {
    const size_t at = static_cast<size_t>(item - items_.data());
    const uint16_t key = items_[at].key;
    if (at + 1 != items_.size()) {
      items_[at] = std::move(items_.back());
      if (index_) index_[items_[at].key] = static_cast<uint16_t>(at + 1);
    }
    items_.pop_back();
    if (index_) index_[key] = 0;
    if (items_.empty()) Clear();
  }

  void Clear() {
    std::vector<T>().swap(items_);
    index_.reset();
  }

  std::vector<T>& items() { return items_; }
  const std::vector<T>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<T> items_;
  std::unique_ptr<uint16_t[]> index_;  // key -> position + 1 (0: absent), past kLinearMax entries
};

}  // namespace engine
}  // namespace gamewire
