// Shared status codes and small helpers for the gamewire addon.
// The values mirror src/core/errors.ts exactly; test/core/errors.test.ts checks them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gamewire {

enum class Status : int32_t {
  kOk = 0,
  kFrameTooLarge = 10,
  kFrameEmpty = 11,
  kJointBadLeadByte = 20,
  kJointBadFrameSize = 21,
  kJointUnknownCommand = 22,
  kJointBadCommandLength = 23,
  kJointBadBroadcastMode = 24,
  kJointBadBroadcastFrame = 25,
  kChunkTooLarge = 30,
  kVarintNonMinimal = 31,
  kAuthFailed = 40,
  kCounterExhausted = 41,
  kRingPayloadTooLarge = 50,
};

// Unit flags shared by every parser's result array (src/core/types.ts UnitFlag).
constexpr int32_t kFlagFrameStart = 1;  // piece begins at the first data byte of its frame
constexpr int32_t kFlagFrameEnd = 2;    // piece ends at the last byte of its frame
constexpr int32_t kFlagInCarry = 4;     // offset refers to the component's carry buffer

}  // namespace gamewire
