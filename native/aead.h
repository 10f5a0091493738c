// Aead: AES-128/256-GCM in one direction with an implicit counter nonce (DESIGN.md "Aead").
// nonce = nonce_prefix (4 bytes) || counter (u64 big-endian); the counter starts at
// start_counter (default 0) and advances after each successful Seal or Open, so a replayed,
// reordered or dropped packet fails its tag. Output of Seal = ciphertext || 16-byte tag, no AAD.
// Twin of src/core/aead.ts: same checks in the same order, same results byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.h"

// OpenSSL's context type, declared here so this header does not pull <openssl/evp.h> into
// the binding (the node binary exports the symbols; TOOLCHAIN.md).
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace gamewire {

class Aead {
 public:
  static constexpr size_t kTagBytes = 16;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kNoncePrefixBytes = 4;
  // Counters stop at 2^48 per direction (src/core/limits.ts AEAD_MAX_COUNTER): exact in a JS
  // number, and far past any session. At it Seal/Open return kCounterExhausted.
  static constexpr uint64_t kMaxCounter = uint64_t{1} << 48;
  // Jobs slots per batch job: [inOffset, inLength, outOffset, result] (AEAD_JOB_STRIDE).
  static constexpr int32_t kJobStride = 4;
  // Status for calls the binding must never make: a span outside its buffer, a key that is not
  // 16 or 32 bytes, a start counter past kMaxCounter. common.h has no misuse code (the binding
  // throws RangeError before calling), so the core fails closed with kAuthFailed.
  static constexpr Status kMisuse = Status::kAuthFailed;

  Aead();
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // key_len 16 (AES-128) or 32 (AES-256); nonce_prefix has kNoncePrefixBytes bytes.
  // start_counter <= kMaxCounter (tests reach exhaustion with it). Sets the key once.
  Status Init(const uint8_t* key, size_t key_len, const uint8_t* nonce_prefix, uint64_t start_counter = 0);

  // Encrypts in[0, in_len) into out (in_len + kTagBytes bytes, out_cap at least that).
  // in and out may be the same memory or disjoint, not partly overlapping.
  // Returns bytes written, or -kCounterExhausted, or -kMisuse (not initialised, out too small).
  int64_t Seal(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap);

  // Verifies and decrypts in[0, in_len) (ciphertext || tag) into out (in_len - kTagBytes bytes).
  // Returns plaintext bytes, or -kAuthFailed (wrong tag, in_len < kTagBytes), or
  // -kCounterExhausted. On a failed tag the output region is zeroed: no unverified plaintext.
  // The counter advances only on success.
  int64_t Open(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_cap);

  // jobs holds count × kJobStride int32 slots. Every job is bounds-checked before any work:
  // an out-of-bounds job gets result -kMisuse and nothing is processed (returns 0). Then jobs
  // run in order; a job that fails gets its negative status as result and stops the batch
  // (later results untouched). Returns the number of jobs that succeeded.
  int32_t SealBatch(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len, int32_t* jobs, int32_t count);
  int32_t OpenBatch(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len, int32_t* jobs, int32_t count);

  // The counter the next Seal/Open uses.
  uint64_t counter() const { return counter_; }
  size_t key_bytes() const { return key_bytes_; }

  // The index of the first job whose input or output span lies outside its buffer (or whose
  // sealed length would not fit the int32 result slot), or -1 when every job is in bounds.
  // The batch calls run it first; the binding runs it to name the bad job in its RangeError.
  static int32_t FirstBadJob(size_t in_len, size_t out_len, const int32_t* jobs, int32_t count, bool sealing);

 private:
  void WriteNonce();
  bool CheckJobs(size_t in_len, size_t out_len, int32_t* jobs, int32_t count, bool sealing) const;
  // `in` itself, or a copy of it in scratch_ when [in, +in_len) and [out, +out_len) overlap
  // without being the same start: OpenSSL would read bytes it has already written there,
  // while node:crypto (the twin) reads all input first.
  const uint8_t* Unalias(const uint8_t* in, size_t in_len, const uint8_t* out, size_t out_len);

  EVP_CIPHER_CTX* enc_ = nullptr;  // key set once in Init; only the IV per packet
  EVP_CIPHER_CTX* dec_ = nullptr;
  size_t key_bytes_ = 0;
  uint64_t counter_ = 0;
  uint8_t nonce_[kNonceBytes] = {};
  std::vector<uint8_t> scratch_;  // used only for partly overlapping spans
};

}  // namespace gamewire
