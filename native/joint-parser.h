// JointParser: splits a joint-protocol byte stream into units (joint.md §2-5), across arbitrary
// splits, in the relay's view (ToRelay, §2.1) or the client's (ToClient, §2.4).
// Plain C++17 (STYLE.md §3): no napi, no exceptions, no I/O, no globals. The TypeScript twin is
// src/core/joint-parser.ts; the two read side by side (same states, same check order, same codes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common.h"

namespace gamewire {

// Int32 slots per unit: [kind, flags, a, b, offset, length] (src/core/types.ts JOINT_UNIT_STRIDE).
constexpr int32_t kJointUnitStride = 6;
// Largest command/control payload: its length is one byte (joint.md §7).
constexpr size_t kJointMaxPayloadBytes = 255;

// Unit kinds (src/core/types.ts JointUnitKind).
constexpr int32_t kJointCommand = 1;    // ToRelay `00 cmd cmdNr len payload`: a = cmd, b = cmdNr
constexpr int32_t kJointControl = 2;    // ToClient `00 len payload`: a = b = 0
constexpr int32_t kJointData = 3;       // data piece: a = r0, b = userNr or -1
constexpr int32_t kJointBroadcast = 4;  // broadcast piece: a = jOwn + 128, b = excluded userNr or -1

// Directions (src/core/types.ts JointDirection).
constexpr int32_t kJointToRelay = 0;
constexpr int32_t kJointToClient = 1;

class JointParser {
 public:
  // `direction` is kJointToRelay or kJointToClient; the binding rejects anything else
  // (any value other than kJointToClient reads as ToRelay here).
  explicit JointParser(int32_t direction);
  // pending_ and carry_ point into this object's own buffers.
  JointParser(const JointParser&) = delete;
  JointParser& operator=(const JointParser&) = delete;

  // Parse input[0, length). Writes up to `max_units` units of kJointUnitStride int32 each into
  // `units` and returns the count. A unit's offset is relative to `input`, or to carry_data()
  // when its flags have kFlagInCarry; the JS face reports offsets into the JS buffer, so the
  // binding adds its feed offset to every unit without kFlagInCarry.
  // Stops early, without error, when `units` is full (consumed() < length). On a protocol error
  // it returns the units before it and consumed() is the index of the offending byte; the error
  // is sticky until Reset(). Inputs longer than INT32_MAX are parsed up to INT32_MAX bytes so
  // offsets fit in int32.
  int32_t Feed(const uint8_t* input, size_t length, int32_t* units, int32_t max_units);

  // Bytes of the last Feed's input consumed.
  size_t consumed() const { return consumed_; }
  // Status::kOk, or the error that stopped parsing (sticky until Reset()).
  Status error() const { return error_; }
  // The bytes the (at most one) kFlagInCarry unit of the last Feed points into; valid until the
  // next Feed or Reset. carry_size() is 0 when the last Feed produced no such unit.
  const uint8_t* carry_data() const { return carry_; }
  size_t carry_size() const { return carry_size_; }

  // Forget all state, any partial unit and any error.
  void Reset();

 private:
  // One state per byte position of a unit (joint.md §2). Same names and order as the TS twin.
  enum class State : uint8_t {
    kLead,            // b0 of a unit
    kCommand,         // ToRelay: cmd
    kCommandNr,       // ToRelay: cmdNr
    kPayloadLength,   // len of a command (ToRelay) or control message (ToClient)
    kPayload,         // len payload bytes
    kBroadcastMode,   // ToRelay: mode after `01`
    kBroadcastLead,   // ToRelay: b0 of the owner frame that must follow `01 mode`
    kSizeLow,         // second byte of a 2-byte size
    kRoute,           // r0: jIn, or jOwn + 128
    kRouteUser,       // userNr after r0 >= 0x80 (unicast, or broadcast mode 0)
    kData,            // data bytes of the frame
  };

  // broadcast_: the mode byte of the `01 mode` prefix in force (joint.md §5), or none.
  static constexpr int32_t kBroadcastAllButOne = 0;
  static constexpr int32_t kBroadcastAll = 1;
  static constexpr int32_t kNoBroadcast = -1;

  State state_ = State::kLead;
  bool to_client_;
  Status error_ = Status::kOk;
  size_t consumed_ = 0;

  // Command/control in progress.
  int32_t unit_kind_ = 0;  // kJointCommand or kJointControl
  int32_t cmd_ = 0;
  int32_t cmd_nr_ = 0;
  int32_t need_ = 0;          // its len
  int32_t pending_size_ = 0;  // payload bytes collected in pending_ (split across feeds)

  // Data frame in progress.
  int32_t broadcast_ = kNoBroadcast;  // mode byte of the prefix in force, or kNoBroadcast
  int32_t size_ = 0;                  // body bytes, routing header included
  int32_t remaining_ = 0;             // body bytes still to come
  int32_t data_kind_ = kJointData;    // kJointData, or kJointBroadcast under a prefix
  int32_t route_ = 0;                 // r0
  int32_t user_ = -1;                 // userNr / excluded userNr, or -1
  bool frame_start_ = false;          // the next piece begins at the frame's first data byte

  // Two fixed buffers swapped when a split payload completes: no allocation per unit or feed.
  uint8_t buffer_a_[kJointMaxPayloadBytes];
  uint8_t buffer_b_[kJointMaxPayloadBytes];
  uint8_t* pending_ = buffer_a_;
  uint8_t* carry_ = buffer_b_;
  size_t carry_size_ = 0;

  int32_t Fail(Status status, int32_t pos, int32_t count);
};

}  // namespace gamewire
