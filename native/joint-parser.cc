// JointParser core; the TypeScript twin is src/core/joint-parser.ts (read them side by side).
#include "joint-parser.h"

#include <cstring>
#include <utility>

namespace gamewire {

namespace {

// Lead bytes (joint.md §2.1, §2.4).
constexpr int32_t kLeadCommand = 0x00;    // command (ToRelay) or control message (ToClient)
constexpr int32_t kLeadBroadcast = 0x01;  // broadcast prefix (ToRelay only)
constexpr int32_t kLeadMinFrame = 0x02;   // 02..7F: 1-byte size
constexpr int32_t kLeadLongFrame = 0x80;  // 80..FF: 2-byte size, 15 bits big-endian
// Routing bytes >= 0x80 are jOwn + 128 and a userNr follows (joint.md §1, §2.3).
constexpr int32_t kOwnRoute = 0x80;
// Smallest data frame size (joint.md §2.2).
constexpr int32_t kMinFrameSize = 2;

// Commands (joint.md §3, §17).
constexpr int32_t kCmdLeave = 2;
constexpr int32_t kCmdDelete = 3;
constexpr int32_t kCmdKick = 4;
constexpr int32_t kMaxCmd = kCmdKick;

// Offsets are int32 in the result array; a longer input is parsed in several feeds.
constexpr size_t kMaxFeedBytes = 0x7fffffff;

inline void Put(int32_t* unit, int32_t kind, int32_t flags, int32_t a, int32_t b, int32_t offset,
                int32_t length) {
  unit[0] = kind;
  unit[1] = flags;
  unit[2] = a;
  unit[3] = b;
  unit[4] = offset;
  unit[5] = length;
}

}  // namespace

JointParser::JointParser(int32_t direction) : to_client_(direction == kJointToClient) {}

void JointParser::Reset() {
  state_ = State::kLead;
  error_ = Status::kOk;
  consumed_ = 0;
  unit_kind_ = 0;
  cmd_ = 0;
  cmd_nr_ = 0;
  need_ = 0;
  pending_size_ = 0;
  broadcast_ = kNoBroadcast;
  size_ = 0;
  remaining_ = 0;
  data_kind_ = kJointData;
  route_ = 0;
  user_ = -1;
  frame_start_ = false;
  carry_size_ = 0;
}

int32_t JointParser::Fail(Status status, int32_t pos, int32_t count) {
  error_ = status;
  consumed_ = static_cast<size_t>(pos);
  return count;
}

int32_t JointParser::Feed(const uint8_t* input, size_t length, int32_t* units,
                          int32_t max_units) {
  consumed_ = 0;
  carry_size_ = 0;
  if (error_ != Status::kOk || units == nullptr || max_units < 1) return 0;
  if (input == nullptr) length = 0;
  if (length > kMaxFeedBytes) length = kMaxFeedBytes;
  const int32_t end = static_cast<int32_t>(length);
  // Hot fields live in locals: `units` may alias members, which would force reloads.
  State state = state_;
  int32_t remaining = remaining_;
  int32_t pos = 0;
  int32_t count = 0;

  while (pos < end && count < max_units) {
    const int32_t byte = input[pos];
    switch (state) {
      case State::kLead:
        if (byte >= kLeadLongFrame) {
          size_ = (byte - kLeadLongFrame) << 8;
          state = State::kSizeLow;
        } else if (byte >= kLeadMinFrame) {
          size_ = byte;
          state = State::kRoute;
        } else if (byte == kLeadCommand) {
          cmd_ = 0;
          cmd_nr_ = 0;
          if (to_client_) {
            unit_kind_ = kJointControl;
            state = State::kPayloadLength;
          } else {
            unit_kind_ = kJointCommand;
            state = State::kCommand;
          }
        } else if (byte == kLeadBroadcast && !to_client_) {
          state = State::kBroadcastMode;
        } else {
          // joint.md §2.4: the relay never sends 01.
          return Fail(Status::kJointBadLeadByte, pos, count);
        }
        ++pos;
        break;

      case State::kCommand:
        if (byte > kMaxCmd) return Fail(Status::kJointUnknownCommand, pos, count);
        cmd_ = byte;
        state = State::kCommandNr;
        ++pos;
        break;

      case State::kCommandNr:
        cmd_nr_ = byte;
        state = State::kPayloadLength;
        ++pos;
        break;

      case State::kPayloadLength:
        // joint.md §3, D4: leave and delete carry exactly one byte; kick (§17) two.
        if (unit_kind_ == kJointCommand &&
            (((cmd_ == kCmdLeave || cmd_ == kCmdDelete) && byte != 1) ||
             (cmd_ == kCmdKick && byte != 2))) {
          return Fail(Status::kJointBadCommandLength, pos, count);
        }
        need_ = byte;
        ++pos;
        if (need_ == 0) {
          // joint.md D7: complete now, not when the next byte arrives.
          Put(units + count * kJointUnitStride, unit_kind_, 0, cmd_, cmd_nr_, pos, 0);
          ++count;
          state = State::kLead;
          break;
        }
        pending_size_ = 0;
        state = State::kPayload;
        break;

      case State::kPayload: {
        const int32_t avail = end - pos;
        if (pending_size_ == 0 && avail >= need_) {
          Put(units + count * kJointUnitStride, unit_kind_, 0, cmd_, cmd_nr_, pos, need_);
          ++count;
          pos += need_;
          state = State::kLead;
          break;
        }
        // Split across feeds: collect, and hand out whole from the carry buffer.
        int32_t take = need_ - pending_size_;
        if (take > avail) take = avail;
        std::memcpy(pending_ + pending_size_, input + pos, static_cast<size_t>(take));
        pending_size_ += take;
        pos += take;
        if (pending_size_ == need_) {
          std::swap(pending_, carry_);
          carry_size_ = static_cast<size_t>(need_);
          pending_size_ = 0;
          Put(units + count * kJointUnitStride, unit_kind_, kFlagInCarry, cmd_, cmd_nr_, 0, need_);
          ++count;
          state = State::kLead;
        }
        break;
      }

      case State::kBroadcastMode:
        if (byte != kBroadcastAllButOne && byte != kBroadcastAll) {
          return Fail(Status::kJointBadBroadcastMode, pos, count);
        }
        broadcast_ = byte;
        state = State::kBroadcastLead;
        ++pos;
        break;

      case State::kBroadcastLead:
        // joint.md §5: nothing but the owner frame may follow the prefix.
        if (byte < kLeadMinFrame) return Fail(Status::kJointBadBroadcastFrame, pos, count);
        if (byte >= kLeadLongFrame) {
          size_ = (byte - kLeadLongFrame) << 8;
          state = State::kSizeLow;
        } else {
          size_ = byte;
          state = State::kRoute;
        }
        ++pos;
        break;

      case State::kSizeLow:
        size_ |= byte;
        // joint.md §2.2: sizes 0 and 1 have no valid frame.
        if (size_ < kMinFrameSize) return Fail(Status::kJointBadFrameSize, pos, count);
        state = State::kRoute;
        ++pos;
        break;

      case State::kRoute:
        // joint.md §5, D2: a broadcast goes to an own joint, never forwarded as unicast.
        if (broadcast_ != kNoBroadcast && byte < kOwnRoute) {
          return Fail(Status::kJointBadBroadcastFrame, pos, count);
        }
        route_ = byte;
        data_kind_ = broadcast_ == kNoBroadcast ? kJointData : kJointBroadcast;
        remaining = size_ - 1;
        ++pos;
        if (byte >= kOwnRoute && broadcast_ != kBroadcastAll) {
          state = State::kRouteUser;
          break;
        }
        user_ = -1;
        frame_start_ = true;
        state = State::kData;  // size >= 2 leaves at least one data byte
        break;

      case State::kRouteUser:
        user_ = byte;
        --remaining;
        ++pos;
        if (remaining == 0) {
          // A frame without data bytes yields no unit (empty pieces are never emitted).
          broadcast_ = kNoBroadcast;
          state = State::kLead;
          break;
        }
        frame_start_ = true;
        state = State::kData;
        break;

      case State::kData: {
        int32_t take = end - pos;
        if (take > remaining) take = remaining;
        remaining -= take;
        int32_t flags = frame_start_ ? kFlagFrameStart : 0;
        if (remaining == 0) flags |= kFlagFrameEnd;
        Put(units + count * kJointUnitStride, data_kind_, flags, route_, user_, pos, take);
        ++count;
        frame_start_ = false;
        pos += take;
        if (remaining == 0) {
          // joint.md D2: the prefix covers exactly one frame.
          broadcast_ = kNoBroadcast;
          state = State::kLead;
        }
        break;
      }
    }
  }

  state_ = state;
  remaining_ = remaining;
  consumed_ = static_cast<size_t>(pos);
  return count;
}

}  // namespace gamewire
