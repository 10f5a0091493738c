// The frame decoder and encoder of ws-frame.h. Checks and close codes follow ws 8
// (lib/receiver.js), in its order: reserved bits, opcode, FIN of control frames, control length,
// MASK, then the message limit when the length is known. Differences, each deliberate:
//   - a 64-bit length with the top bit set is 1002 (RFC 6455 §5.2 says it must be 0); ws
//     answers any length past 2^53 with 1009, which we still do past max_message_bytes;
//   - in stream delivery a text message's bytes are handed out as they arrive, so when its
//     UTF-8 turns out bad (1007) its earlier frames have already been delivered; ws checks the
//     whole message first. Message delivery matches ws.
#include "ws-frame.h"

#include <cassert>
#include <cstring>

#include "carry-buffer.h"

namespace gamewire {

namespace {

// Byte 0: FIN, RSV1-3, opcode. Byte 1: MASK, 7-bit length.
constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLength7Bits = 0x7F;
// 7-bit lengths that announce a 16-bit or a 64-bit length after byte 1.
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;
constexpr uint64_t kMaxLength7 = 125;
constexpr uint64_t kMaxLength16 = 0xFFFF;
constexpr uint64_t kLength64HighBit = uint64_t{1} << 63;
constexpr uint8_t kFirstControlOpcode = 0x8;
// Bytes of a close code at the start of a close payload.
constexpr size_t kCloseCodeBytes = 2;
// Offsets are uint32 in events.
constexpr size_t kMaxFeedBytes = 0xFFFFFFFFu;

inline bool IsControl(uint8_t opcode) { return opcode >= kFirstControlOpcode; }

// Codes a peer may send in a close frame (RFC 6455 §7.4; the set ws accepts): the defined ones
// except those reserved for local use (1004-1006), and the registered/private 3000-4999.
bool IsValidCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1014 && code != 1004 && code != kWsCloseNoStatus && code != 1006) ||
         (code >= 3000 && code <= 4999);
}

// XORs p[0, n) with the mask key, starting at key byte `phase` (the payload offset mod 4).
void Unmask(uint8_t* p, size_t n, const uint8_t mask[kWsMaskBytes], size_t phase) {
  uint8_t rotated[8];
  for (size_t i = 0; i < sizeof(rotated); ++i) rotated[i] = mask[(phase + i) % kWsMaskBytes];
  uint64_t word_mask = 0;
  std::memcpy(&word_mask, rotated, sizeof(word_mask));
  size_t i = 0;
  for (; n - i >= sizeof(word_mask); i += sizeof(word_mask)) {
    uint64_t v = 0;
    std::memcpy(&v, p + i, sizeof(v));
    v ^= word_mask;
    std::memcpy(p + i, &v, sizeof(v));
  }
  // 8 is a multiple of the key length, so the tail keeps the rotation.
  for (; i < n; ++i) p[i] ^= rotated[i % sizeof(rotated)];
}

// Where an incremental UTF-8 check stands: continuation bytes still needed, and the range the
// next one must fall in (Unicode Table 3-7: no overlongs, no surrogates, nothing past U+10FFFF).
struct Utf8State {
  uint8_t need = 0;
  uint8_t low = 0x80;
  uint8_t high = 0xBF;
};

constexpr uint64_t kAsciiWordMask = 0x8080808080808080ull;

bool Utf8Run(const uint8_t* p, size_t n, Utf8State* state) {
  Utf8State s = *state;
  size_t i = 0;
  while (i < n) {
    if (s.need == 0) {
      // ASCII runs a word at a time: game text is mostly ASCII.
      while (n - i >= sizeof(uint64_t)) {
        uint64_t v = 0;
        std::memcpy(&v, p + i, sizeof(v));
        if ((v & kAsciiWordMask) != 0) break;
        i += sizeof(v);
      }
      if (i == n) break;
      const uint8_t c = p[i++];
      if (c < 0x80) continue;
      s.low = 0x80;
      s.high = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        s.need = 1;
      } else if (c == 0xE0) {
        s.need = 2;
        s.low = 0xA0;
      } else if (c == 0xED) {
        s.need = 2;
        s.high = 0x9F;
      } else if (c >= 0xE1 && c <= 0xEF) {
        s.need = 2;
      } else if (c == 0xF0) {
        s.need = 3;
        s.low = 0x90;
      } else if (c >= 0xF1 && c <= 0xF3) {
        s.need = 3;
      } else if (c == 0xF4) {
        s.need = 3;
        s.high = 0x8F;
      } else {
        return false;
      }
    } else {
      const uint8_t c = p[i++];
      if (c < s.low || c > s.high) return false;
      --s.need;
      s.low = 0x80;
      s.high = 0xBF;
    }
  }
  *state = s;
  return true;
}

}  // namespace

uint16_t WsErrorCloseCode(WsError error) {
  switch (error) {
    case WsError::kNone:
      return 0;
    case WsError::kMessageTooLarge:
      return kWsCloseTooBig;
    case WsError::kTooManyFragments:
      return kWsClosePolicy;
    case WsError::kInvalidUtf8:
      return kWsCloseInvalidPayload;
    default:
      return kWsCloseProtocolError;
  }
}

const char* WsErrorText(WsError error) {
  switch (error) {
    case WsError::kNone:
      return "";
    case WsError::kReservedBits:
      return "RSV bits must be clear";
    case WsError::kBadOpcode:
      return "invalid opcode";
    case WsError::kUnexpectedContinuation:
      return "continuation frame without a message";
    case WsError::kExpectedContinuation:
      return "new message inside a fragmented message";
    case WsError::kControlFragmented:
      return "FIN must be set on control frames";
    case WsError::kControlTooLong:
      return "control frame payload over 125 bytes";
    case WsError::kUnmasked:
      return "MASK must be set";
    case WsError::kLengthHighBit:
      return "64-bit payload length with the top bit set";
    case WsError::kBadCloseLength:
      return "close frame payload of 1 byte";
    case WsError::kBadCloseCode:
      return "invalid close code";
    case WsError::kMessageTooLarge:
      return "message too large";
    case WsError::kTooManyFragments:
      return "too many message fragments";
    case WsError::kInvalidUtf8:
      return "invalid UTF-8";
  }
  return "unknown error";
}

WsFrameDecoder::WsFrameDecoder(const WsDecoderOptions& options) : options_(options) {
  assert(options.max_message_bytes >= 1 && options.max_message_bytes <= kWsMaxMessageBytesLimit);
}

void WsFrameDecoder::Reset() {
  state_ = State::kHeader;
  error_ = WsError::kNone;
  closed_ = false;
  consumed_ = 0;
  header_have_ = 0;
  header_need_ = kWsMinFrameHeaderBytes;
  fin_ = false;
  opcode_ = 0;
  payload_length_ = 0;
  remaining_ = 0;
  message_opcode_ = 0;
  message_bytes_ = 0;
  message_frames_ = 0;
  utf8_need_ = 0;
  utf8_low_ = 0x80;
  utf8_high_ = 0xBF;
  control_fill_ = 0;
  message_fill_ = 0;
  carry_ = nullptr;
}

WsError WsFrameDecoder::CheckFirstByte(uint8_t b0) {
  if ((b0 & kRsvBits) != 0) return WsError::kReservedBits;
  fin_ = (b0 & kFinBit) != 0;
  opcode_ = b0 & kOpcodeBits;
  switch (opcode_) {
    case kWsOpContinuation:
      return message_opcode_ == 0 ? WsError::kUnexpectedContinuation : WsError::kNone;
    case kWsOpText:
    case kWsOpBinary:
      return message_opcode_ != 0 ? WsError::kExpectedContinuation : WsError::kNone;
    case kWsOpClose:
    case kWsOpPing:
    case kWsOpPong:
      // RFC 6455 §5.5: control frames are never fragmented.
      return fin_ ? WsError::kNone : WsError::kControlFragmented;
    default:
      return WsError::kBadOpcode;
  }
}

WsError WsFrameDecoder::CheckSecondByte(uint8_t b1) {
  const uint8_t length7 = b1 & kLength7Bits;
  if (IsControl(opcode_)) {
    if (length7 > kMaxLength7) return WsError::kControlTooLong;
    // A close payload is empty or starts with a 2-byte code (RFC 6455 §5.5.1).
    if (opcode_ == kWsOpClose && length7 == 1) return WsError::kBadCloseLength;
  }
  if ((b1 & kMaskBit) == 0) return WsError::kUnmasked;
  const size_t extended = length7 == kLength16 ? 2 : length7 == kLength64 ? 8 : 0;
  header_need_ = static_cast<uint8_t>(kWsMinFrameHeaderBytes + extended + kWsMaskBytes);
  return WsError::kNone;
}

// The whole header is in header_: length and mask key.
WsError WsFrameDecoder::CheckLength() {
  const uint8_t length7 = header_[1] & kLength7Bits;
  size_t at = kWsMinFrameHeaderBytes;
  if (length7 == kLength16) {
    payload_length_ = (static_cast<uint64_t>(header_[2]) << 8) | header_[3];
    at += 2;
  } else if (length7 == kLength64) {
    payload_length_ = 0;
    for (size_t i = 0; i < 8; ++i) payload_length_ = (payload_length_ << 8) | header_[2 + i];
    at += 8;
    if ((payload_length_ & kLength64HighBit) != 0) return WsError::kLengthHighBit;
  } else {
    payload_length_ = length7;
  }
  std::memcpy(mask_, header_ + at, kWsMaskBytes);
  return WsError::kNone;
}

// The header is read: the message's bookkeeping and limits, before any payload byte is taken.
WsError WsFrameDecoder::StartPayload() {
  remaining_ = payload_length_;
  control_fill_ = 0;
  if (IsControl(opcode_)) return WsError::kNone;
  if (opcode_ != kWsOpContinuation) {
    message_opcode_ = opcode_;
    message_bytes_ = 0;
    message_frames_ = 0;
    message_fill_ = 0;
    utf8_need_ = 0;
    utf8_low_ = 0x80;
    utf8_high_ = 0xBF;
  }
  // Checked from the announced length, before one byte is buffered (§16 D8: 1009, nothing else).
  if (payload_length_ > options_.max_message_bytes - message_bytes_) return WsError::kMessageTooLarge;
  message_bytes_ += payload_length_;
  // Empty frames count too: they cost a header's work each and carry nothing.
  if (options_.max_fragments != 0 && ++message_frames_ > options_.max_fragments) return WsError::kTooManyFragments;
  return WsError::kNone;
}

bool WsFrameDecoder::Utf8(const uint8_t* p, size_t n) {
  if (message_opcode_ != kWsOpText || !options_.validate_utf8) return true;
  Utf8State s{utf8_need_, utf8_low_, utf8_high_};
  if (!Utf8Run(p, n, &s)) return false;
  utf8_need_ = s.need;
  utf8_low_ = s.low;
  utf8_high_ = s.high;
  return true;
}

// A control frame's whole (unmasked) payload is at `payload`: fills the event but its offset.
WsError WsFrameDecoder::ControlDone(const uint8_t* payload, WsEvent* event) {
  event->flags = 0;
  event->close_code = 0;
  event->length = static_cast<uint32_t>(payload_length_);
  if (opcode_ == kWsOpPing) {
    event->kind = WsEventKind::kPing;
    return WsError::kNone;
  }
  if (opcode_ == kWsOpPong) {
    event->kind = WsEventKind::kPong;
    return WsError::kNone;
  }
  event->kind = WsEventKind::kClose;
  if (payload_length_ == 0) {
    event->close_code = kWsCloseNoStatus;
    return WsError::kNone;
  }
  // payload_length_ >= 2 here: CheckSecondByte refused 1.
  const uint16_t code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
  if (!IsValidCloseCode(code)) return WsError::kBadCloseCode;
  Utf8State s;
  const size_t reason_length = payload_length_ - kCloseCodeBytes;
  if (options_.validate_utf8 && (!Utf8Run(payload + kCloseCodeBytes, reason_length, &s) || s.need != 0)) {
    return WsError::kInvalidUtf8;
  }
  event->close_code = code;
  event->length = static_cast<uint32_t>(reason_length);
  return WsError::kNone;
}

int32_t WsFrameDecoder::Feed(uint8_t* input, size_t length, WsEvent* events, int32_t max_events) {
  consumed_ = 0;
  carry_ = nullptr;
  if (error_ != WsError::kNone || closed_ || events == nullptr || max_events < 1) return 0;
  if (input == nullptr) length = 0;
  if (length > kMaxFeedBytes) length = kMaxFeedBytes;
  const bool stream = options_.delivery == WsDelivery::kStream;
  size_t pos = 0;
  int32_t count = 0;
  WsError err = WsError::kNone;
  bool stop = false;
  while (!stop && err == WsError::kNone) {
    // Every step below emits at most one event; with no room left, stop before it.
    if (count == max_events) break;
    switch (state_) {
      case State::kHeader: {
        while (header_have_ < header_need_ && pos < length) {
          const uint8_t b = input[pos++];
          header_[header_have_++] = b;
          if (header_have_ == 1) {
            err = CheckFirstByte(b);
          } else if (header_have_ == 2) {
            err = CheckSecondByte(b);
            // The rest of the header in one copy when it is all here (the usual case).
            const size_t rest = header_need_ - kWsMinFrameHeaderBytes;
            if (err == WsError::kNone && length - pos >= rest) {
              std::memcpy(header_ + kWsMinFrameHeaderBytes, input + pos, rest);
              pos += rest;
              header_have_ = header_need_;
            }
          }
          if (err != WsError::kNone) break;
        }
        if (err != WsError::kNone) break;
        if (header_have_ < header_need_) {
          stop = true;
          break;
        }
        header_have_ = 0;
        header_need_ = kWsMinFrameHeaderBytes;
        err = CheckLength();
        if (err == WsError::kNone) err = StartPayload();
        if (err == WsError::kNone) state_ = State::kPayload;
        break;
      }
      case State::kPayload: {
        const size_t avail = length - pos;
        const size_t take = avail < remaining_ ? avail : static_cast<size_t>(remaining_);
        const size_t phase = static_cast<size_t>(payload_length_ - remaining_) % kWsMaskBytes;
        WsEvent& ev = events[count];
        if (IsControl(opcode_)) {
          if (control_fill_ == 0 && take == remaining_) {
            // Wholly in this input: unmasked in place, a view.
            Unmask(input + pos, take, mask_, phase);
            err = ControlDone(input + pos, &ev);
            ev.offset = static_cast<uint32_t>(pos + (ev.kind == WsEventKind::kClose && take != 0 ? kCloseCodeBytes : 0));
            pos += take;
            remaining_ = 0;
          } else {
            // Split across calls: collected (at most 125 bytes), then handed out from the carry.
            std::memcpy(control_ + control_fill_, input + pos, take);
            Unmask(control_ + control_fill_, take, mask_, phase);
            control_fill_ += take;
            pos += take;
            remaining_ -= take;
            if (remaining_ != 0) {
              stop = true;
              break;
            }
            err = ControlDone(control_, &ev);
            ev.flags |= kWsEventInCarry;
            ev.offset = ev.kind == WsEventKind::kClose && control_fill_ != 0 ? kCloseCodeBytes : 0;
            carry_ = control_;
            stop = true;
          }
          if (err != WsError::kNone) break;
          ++count;
          state_ = State::kHeader;
          if (opcode_ == kWsOpClose) {
            // Nothing after a close is the peer's data any more (RFC 6455 §5.5.1).
            closed_ = true;
            state_ = State::kClosed;
            stop = true;
          }
          break;
        }
        const uint8_t text = message_opcode_ == kWsOpText ? kWsEventText : 0;
        if (stream || (message_fill_ == 0 && fin_ && opcode_ != kWsOpContinuation && take == remaining_)) {
          // A piece in stream delivery, or a whole single-frame message: a view, no copy.
          if (take != 0 || !stream) {
            Unmask(input + pos, take, mask_, phase);
            // A message's last bytes must end on a whole character: checked before they go out.
            if (!Utf8(input + pos, take) || (fin_ && take == remaining_ && utf8_need_ != 0)) {
              err = WsError::kInvalidUtf8;
              pos += take;
              break;
            }
            ev = WsEvent{WsEventKind::kData, text, 0, static_cast<uint32_t>(pos), static_cast<uint32_t>(take)};
            ++count;
            pos += take;
            remaining_ -= take;
          }
          if (remaining_ != 0) {
            stop = true;
            break;
          }
        } else {
          if (take != 0) {
            Unmask(input + pos, take, mask_, phase);
            if (!Utf8(input + pos, take)) {
              err = WsError::kInvalidUtf8;
              pos += take;
              break;
            }
            // The message limit was checked against the announced lengths: this stays within it.
            AppendPending(message_, message_fill_, input + pos, take, options_.max_message_bytes);
            message_fill_ += take;
            pos += take;
            remaining_ -= take;
          }
          if (remaining_ != 0) {
            stop = true;
            break;
          }
          if (fin_) {
            if (utf8_need_ != 0) {
              err = WsError::kInvalidUtf8;
              break;
            }
            carry_ = message_.empty() ? nullptr : message_.data();
            ev = WsEvent{WsEventKind::kData, static_cast<uint8_t>(text | kWsEventInCarry), 0, 0,
                         static_cast<uint32_t>(message_fill_)};
            ++count;
            message_fill_ = 0;
            stop = true;
          }
        }
        // The frame is done; a final frame ends its message, which must end on a whole character.
        if (fin_) {
          if (utf8_need_ != 0) {
            // Reached by an empty final frame in stream delivery; the other paths checked above.
            err = WsError::kInvalidUtf8;
            break;
          }
          message_opcode_ = 0;
        }
        state_ = State::kHeader;
        break;
      }
      case State::kClosed:
        stop = true;
        break;
    }
  }
  consumed_ = pos;
  if (err != WsError::kNone) error_ = err;
  return count;
}

size_t WsServerHeaderBytes(uint64_t payload_length) {
  return payload_length <= kMaxLength7 ? 2 : payload_length <= kMaxLength16 ? 4 : kWsMaxServerHeaderBytes;
}

size_t WsEncodeHeader(uint8_t* out, uint8_t opcode, uint64_t payload_length) {
  out[0] = static_cast<uint8_t>(kFinBit | (opcode & kOpcodeBits));
  if (payload_length <= kMaxLength7) {
    out[1] = static_cast<uint8_t>(payload_length);
    return 2;
  }
  if (payload_length <= kMaxLength16) {
    out[1] = kLength16;
    out[2] = static_cast<uint8_t>(payload_length >> 8);
    out[3] = static_cast<uint8_t>(payload_length);
    return 4;
  }
  out[1] = kLength64;
  for (size_t i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(payload_length >> (8 * (7 - i)));
  return kWsMaxServerHeaderBytes;
}

size_t WsEncodePong(uint8_t* out, size_t capacity, const uint8_t* payload, size_t length) {
  if (length > kWsMaxControlPayloadBytes || capacity < kWsMinFrameHeaderBytes + length) return 0;
  const size_t header = WsEncodeHeader(out, kWsOpPong, length);
  if (length != 0) std::memcpy(out + header, payload, length);
  return header + length;
}

size_t WsEncodeClose(uint8_t* out, size_t capacity, uint16_t code, const uint8_t* reason, size_t reason_length) {
  if (code == 0 || code == kWsCloseNoStatus) {
    if (capacity < kWsMinFrameHeaderBytes) return 0;
    return WsEncodeHeader(out, kWsOpClose, 0);
  }
  if (reason_length > kWsMaxCloseReasonBytes || capacity < kWsMinFrameHeaderBytes + kCloseCodeBytes + reason_length) {
    return 0;
  }
  const size_t header = WsEncodeHeader(out, kWsOpClose, kCloseCodeBytes + reason_length);
  out[header] = static_cast<uint8_t>(code >> 8);
  out[header + 1] = static_cast<uint8_t>(code);
  if (reason_length != 0) std::memcpy(out + header + kCloseCodeBytes, reason, reason_length);
  return header + kCloseCodeBytes + reason_length;
}

}  // namespace gamewire
