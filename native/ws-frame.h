// WsFrameDecoder: client-to-server WebSocket frames (RFC 6455 §5) after the handshake, across
// arbitrary splits (one byte at a time works), as a small explicit state machine; and the
// encoder of the server's own frames (unmasked binary, pong, close).
// Plain C++17 (STYLE.md §3): no napi, no exceptions, no I/O, no globals. No TypeScript twin: the
// Node engine uses the `ws` package (src/transport/stream-listener.ts), whose checks and close
// codes this follows; the differences are named in ws-frame.cc.
//
// joint.md §9: the payloads of binary and text messages are bytes of the joint stream and their
// boundaries mean nothing, while control payloads must stay out of it (§16 D6). So the engine
// runs the decoder in stream delivery: every data event is a view into the fed input, unmasked
// in place, to hand straight to JointParser::Feed; nothing of a data frame is ever copied or
// buffered, whatever its size. Message delivery (whole messages, for other users and tests)
// hands out a message lying in one frame of the input as a view too, and collects any other
// into a carry grown up to the message limit.
//
// The engine, per WebSocket connection, after WsHandshake accepted (the bytes past its
// consumed() are the first frames), for each read buf[0, n):
//   for (size_t at = 0; at < n && decoder.error() == WsError::kNone && !decoder.closed();) {
//     const int32_t k = decoder.Feed(buf + at, n - at, events, kEvents);
//     for each of the k events (bytes = buf + at + offset, or carry_data() + offset with InCarry):
//       kData  -> JointParser::Feed(bytes, length): the joint stream (text and binary alike)
//       kPing  -> queue WsEncodePong(bytes, length) (one pong in flight, as the Node engine)
//       kPong  -> count it (control-frame flood limit)
//       kClose -> send WsEncodeClose(close_code), flush, close as peer_closed
//     at += decoder.consumed();
//   }
//   on error(): send WsEncodeClose(WsErrorCloseCode(error())), close as protocol_error.
// Outbound, each relay unit is WsEncodeBinaryHeader(n) then its n bytes (writev, no copy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gamewire {

// RFC 6455 §5.2 format facts.
constexpr size_t kWsMinFrameHeaderBytes = 2;
constexpr size_t kWsMaxFrameHeaderBytes = 14;  // 2 + 8 (64-bit length) + 4 (mask key)
constexpr size_t kWsMaskBytes = 4;
constexpr size_t kWsMaxControlPayloadBytes = 125;
// Largest server frame header: unmasked, 64-bit length.
constexpr size_t kWsMaxServerHeaderBytes = 10;
// A control frame the encoder writes: header and at most 125 payload bytes.
constexpr size_t kWsMaxControlFrameBytes = 2 + kWsMaxControlPayloadBytes;
// Close reason bytes after the 2-byte code.
constexpr size_t kWsMaxCloseReasonBytes = kWsMaxControlPayloadBytes - 2;

// Opcodes (RFC 6455 §5.2).
constexpr uint8_t kWsOpContinuation = 0x0;
constexpr uint8_t kWsOpText = 0x1;
constexpr uint8_t kWsOpBinary = 0x2;
constexpr uint8_t kWsOpClose = 0x8;
constexpr uint8_t kWsOpPing = 0x9;
constexpr uint8_t kWsOpPong = 0xA;

// Close codes (RFC 6455 §7.4.1) the decoder reports.
constexpr uint16_t kWsCloseNormal = 1000;
constexpr uint16_t kWsCloseProtocolError = 1002;
constexpr uint16_t kWsCloseNoStatus = 1005;  // a close frame without a code; never sent
constexpr uint16_t kWsCloseInvalidPayload = 1007;
constexpr uint16_t kWsClosePolicy = 1008;
constexpr uint16_t kWsCloseTooBig = 1009;

// Default largest inbound message (bytes): the original's parser fails past 64 KiB (joint.md §7,
// §16 D8) and the Node engine's LISTENER_MAX_WEBSOCKET_PAYLOAD_BYTES is the same. Past it: 1009.
constexpr uint32_t kWsDefaultMaxMessageBytes = 65536;
// Largest max_message_bytes accepted: event offsets and lengths are uint32 (and int32 in JS).
constexpr uint32_t kWsMaxMessageBytesLimit = 0x7fffffff;

// Why the decoder failed; each maps to the close code the server sends (WsErrorCloseCode).
enum class WsError : uint8_t {
  kNone = 0,
  kReservedBits,            // RSV1-3 set without an extension (1002)
  kBadOpcode,               // reserved opcode 3-7 or 0xB-0xF (1002)
  kUnexpectedContinuation,  // continuation frame with no message begun (1002)
  kExpectedContinuation,    // new text/binary frame inside a fragmented message (1002)
  kControlFragmented,       // control frame without FIN (1002)
  kControlTooLong,          // control payload over 125 bytes (1002)
  kUnmasked,                // client frame without MASK (RFC 6455 §5.1) (1002)
  kLengthHighBit,           // 64-bit length with its most significant bit set (1002)
  kBadCloseLength,          // close payload of 1 byte (1002)
  kBadCloseCode,            // close code not allowed on the wire (1002)
  kMessageTooLarge,         // message over max_message_bytes (1009)
  kTooManyFragments,        // more frames in one message than max_fragments (1008)
  kInvalidUtf8,             // text message or close reason not UTF-8 (1007)
};

// The close code to send for `error` (0 for kNone).
uint16_t WsErrorCloseCode(WsError error);
// A short static description of `error` (for the CLOSED event's detail text).
const char* WsErrorText(WsError error);

enum class WsEventKind : uint8_t {
  kData = 1,   // message bytes (stream: a piece of a frame; message: a whole message)
  kPing = 2,   // payload: send a pong with it (WsEncodePong)
  kPong = 3,   // payload ignored; reported so the engine can count control frames
  kClose = 4,  // close_code, payload = reason: reply WsEncodeClose(close_code), then close
};

// WsEvent flags.
constexpr uint8_t kWsEventText = 1;     // data of a text message (already checked to be UTF-8)
constexpr uint8_t kWsEventInCarry = 2;  // offset is into carry_data(), not the input

struct WsEvent {
  WsEventKind kind;
  uint8_t flags;
  // kClose: the code received, kWsCloseNoStatus when the frame carried none.
  uint16_t close_code;
  // The bytes: input + offset, or carry_data() + offset with kWsEventInCarry.
  uint32_t offset;
  uint32_t length;
};

enum class WsDelivery : uint8_t {
  kStream,   // data events are pieces of frames as they arrive, never empty, never copied
  kMessage,  // data events are whole messages (empty ones too)
};

struct WsDecoderOptions {
  WsDelivery delivery = WsDelivery::kStream;
  // Largest message (bytes, 1..kWsMaxMessageBytesLimit), checked when a frame's length is read.
  uint32_t max_message_bytes = kWsDefaultMaxMessageBytes;
  // Most frames per message; 0 = no cap (the Node engine's ws has none). Past it: 1008.
  uint32_t max_fragments = 0;
  // Check that text messages and close reasons are UTF-8 (RFC 6455 §8.1; ws does). Past: 1007.
  bool validate_utf8 = true;
};

class WsFrameDecoder {
 public:
  explicit WsFrameDecoder(const WsDecoderOptions& options = WsDecoderOptions());

  // Decodes input[0, length), unmasking payloads in place (the input is modified), and writes
  // up to `max_events` (>= 1) events to `events`. Returns the number written. Stops early,
  // leaving input[consumed(), length) to feed again, when the events are full, right after an
  // event with kWsEventInCarry (so the carry is never needed twice in one call), and after a
  // kClose event (closed() is then true and nothing more is decoded). On a protocol error it
  // returns the events before it; error() says why and the connection must be closed with
  // WsErrorCloseCode(error()). Views into the input and carry_data() are valid until the next
  // Feed or Reset. Inputs longer than UINT32_MAX are decoded up to UINT32_MAX bytes.
  int32_t Feed(uint8_t* input, size_t length, WsEvent* events, int32_t max_events);

  // Bytes of the last Feed's input decoded.
  size_t consumed() const { return consumed_; }
  // WsError::kNone, or the error that stopped decoding (sticky until Reset()).
  WsError error() const { return error_; }
  // True once a close frame was received (and reported); Feed then decodes nothing more.
  bool closed() const { return closed_; }
  // The buffer that the last Feed's kWsEventInCarry event (at most one) points into.
  const uint8_t* carry_data() const { return carry_; }
  // Bytes held for partial messages (message delivery; 0 in stream delivery): a test checks it
  // stays bounded by the message limit.
  size_t carry_capacity() const { return message_.capacity(); }

  // Forgets all state and any error; keeps the buffers for reuse.
  void Reset();

 private:
  // Same order as the bytes of a frame.
  enum class State : uint8_t { kHeader, kPayload, kClosed };

  WsError CheckFirstByte(uint8_t b0);
  WsError CheckSecondByte(uint8_t b1);
  WsError CheckLength();
  WsError StartPayload();
  bool Utf8(const uint8_t* p, size_t n);
  WsError ControlDone(const uint8_t* payload, WsEvent* event);

  const WsDecoderOptions options_;
  State state_ = State::kHeader;
  WsError error_ = WsError::kNone;
  bool closed_ = false;
  size_t consumed_ = 0;

  // Frame header being read: its bytes so far (when split across calls), how many it needs.
  uint8_t header_[kWsMaxFrameHeaderBytes] = {};
  uint8_t header_have_ = 0;
  uint8_t header_need_ = kWsMinFrameHeaderBytes;
  // The frame: FIN, opcode, mask key, payload length and bytes of it still to come.
  bool fin_ = false;
  uint8_t opcode_ = 0;
  uint8_t mask_[kWsMaskBytes] = {};
  uint64_t payload_length_ = 0;
  uint64_t remaining_ = 0;

  // The message in progress: its opcode (0 between messages; continuation frames need one),
  // bytes and frames so far, and where a UTF-8 sequence stands (text only).
  uint8_t message_opcode_ = 0;
  uint64_t message_bytes_ = 0;
  uint32_t message_frames_ = 0;
  uint8_t utf8_need_ = 0;
  uint8_t utf8_low_ = 0x80;
  uint8_t utf8_high_ = 0xBF;

  // A control payload split across calls, and a message split across frames or calls
  // (message delivery only; grown with the bytes that arrived up to max_message_bytes).
  uint8_t control_[kWsMaxControlPayloadBytes] = {};
  size_t control_fill_ = 0;
  std::vector<uint8_t> message_;
  size_t message_fill_ = 0;
  const uint8_t* carry_ = nullptr;
};

// Bytes of the header of an unmasked frame with a payload of `payload_length` bytes: 2, 4 or 10.
size_t WsServerHeaderBytes(uint64_t payload_length);
// Writes the header of an unmasked, final frame (FIN set) with `opcode` and `payload_length` into
// out[0, WsServerHeaderBytes(payload_length)) (room for kWsMaxServerHeaderBytes is always
// enough); returns its length. The payload follows it on the wire, not copied here.
size_t WsEncodeHeader(uint8_t* out, uint8_t opcode, uint64_t payload_length);
// The header of a binary message of `payload_length` bytes (joint.md §9: each relay unit is one).
inline size_t WsEncodeBinaryHeader(uint8_t* out, uint64_t payload_length) {
  return WsEncodeHeader(out, kWsOpBinary, payload_length);
}
// A whole pong frame answering a ping with `payload` (length <= 125) into out[0, capacity);
// returns its length, or 0 when the payload is too long or out too small.
size_t WsEncodePong(uint8_t* out, size_t capacity, const uint8_t* payload, size_t length);
// A whole close frame into out[0, capacity): empty when `code` is 0 or kWsCloseNoStatus (the
// answer to a close that had no code), else the code and `reason` (<= 123 bytes, may be null when
// reason_length is 0). Returns its length, or 0 when the reason is too long or out too small.
size_t WsEncodeClose(uint8_t* out, size_t capacity, uint16_t code, const uint8_t* reason, size_t reason_length);

}  // namespace gamewire
