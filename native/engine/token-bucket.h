// Per-connection inbound budget (bytes/s or units/s), the twin of src/relay/token-bucket.ts:
// `rate` tokens per second, at most `burst` stored, starts full.
#pragma once

#include <cmath>
#include <cstdint>

namespace gamewire {
namespace engine {

class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double rate, double burst, int64_t now_ms) : rate_(rate), burst_(burst), tokens_(burst), last_(now_ms) {}

  bool enabled() const { return rate_ > 0; }

  // Take `n` even into debt (bytes already read must be handled); returns the milliseconds until
  // the bucket is out of debt (0 when it is not in debt).
  int64_t Charge(double n, int64_t now_ms) {
    Refill(now_ms);
    tokens_ -= n;
    return tokens_ >= 0 ? 0 : static_cast<int64_t>(std::ceil(-tokens_ * 1000 / rate_));
  }

  // Take `n` when available; false (nothing taken) when short.
  bool Take(double n, int64_t now_ms) {
    Refill(now_ms);
    if (tokens_ < n) return false;
    tokens_ -= n;
    return true;
  }

 private:
  void Refill(int64_t now_ms) {
    const int64_t elapsed = now_ms - last_;
    if (elapsed > 0) {
      tokens_ = std::fmin(burst_, tokens_ + static_cast<double>(elapsed) * rate_ / 1000);
      last_ = now_ms;
    }
  }

  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  int64_t last_ = 0;
};

}  // namespace engine
}  // namespace gamewire
