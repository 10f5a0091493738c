// WsHandshake: the server side of the RFC 6455 opening handshake (joint.md §9), fed the bytes of
// a connection whose first byte was `G`, across arbitrary splits. It parses one HTTP/1.1 upgrade
// request and produces the bytes to send back: the 101 response with Sec-WebSocket-Accept, or an
// HTTP error response after which the caller closes the connection.
// Plain C++17 (STYLE.md §3): no napi, no exceptions, no I/O, no globals. No TypeScript twin: the
// Node engine uses the `ws` package and node:http, whose answers this follows (see the .cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gamewire {

// Largest upgrade request, request line and headers with their final CRLF CRLF (bytes). Node's
// http server (the Node engine) refuses headers past 16 KiB with 431; so do we. A request split
// across reads is buffered up to this, grown with the bytes that arrived.
constexpr size_t kWsMaxHandshakeBytes = 16384;
// Subprotocol names in one request (names), 64: each new name is compared with those before it
// (a repeated name is refused, as ws does), so the count is capped to keep that cheap; past it
// the request gets 400. A 16 KiB header of two-character names cost ~40 ms of the I/O thread.
constexpr size_t kWsMaxProtocols = 64;
// Sec-WebSocket-Key: base64 of 16 bytes (RFC 6455 §4.1), so 22 characters and `==`.
constexpr size_t kWsKeyChars = 24;
// Sec-WebSocket-Accept: base64 of a SHA-1 digest (20 bytes).
constexpr size_t kWsAcceptChars = 28;
// The one protocol version this server speaks (RFC 6455 §4.1); any other gets 426 naming it.
constexpr int32_t kWsVersion = 13;

// HTTP statuses the handshake answers with.
constexpr int32_t kHttpSwitchingProtocols = 101;
constexpr int32_t kHttpBadRequest = 400;
constexpr int32_t kHttpMethodNotAllowed = 405;
constexpr int32_t kHttpUpgradeRequired = 426;
constexpr int32_t kHttpHeaderFieldsTooLarge = 431;

enum class WsHandshakeResult : uint8_t {
  kNeedMore,  // the request is incomplete: feed more bytes
  kAccepted,  // response() is the 101; the bytes after consumed() are the first frames
  kRejected,  // response() is an HTTP error; send it, then close the connection
};

class WsHandshake {
 public:
  WsHandshake() = default;

  // Parses input[0, length), the next bytes of the connection. Once the result is kAccepted or
  // kRejected it stays so (later calls consume nothing) until Reset().
  WsHandshakeResult Feed(const uint8_t* input, size_t length);

  // Bytes of the last Feed's input that belong to the request: all of them while kNeedMore; on
  // kAccepted or kRejected the request ended at input[consumed() - 1] (with 431, the limit was
  // reached there), and on kAccepted anything after it is WebSocket frames for the decoder.
  size_t consumed() const { return consumed_; }
  WsHandshakeResult result() const { return result_; }
  // 101 once accepted, the HTTP error status once rejected, 0 before.
  int32_t status() const { return status_; }
  // Why the request was refused (static text, also the error response's body), or "".
  const char* reason() const { return reason_; }
  // The complete response to write (valid until Reset()); empty while kNeedMore.
  const uint8_t* response() const { return reinterpret_cast<const uint8_t*>(response_.data()); }
  size_t response_size() const { return response_.size(); }
  // Bytes held for a request split across reads: a test checks it stays bounded.
  size_t buffer_capacity() const { return buffer_.capacity(); }

  // Forgets the request and the response; keeps the buffer for reuse.
  void Reset();

 private:
  WsHandshakeResult Parse(const uint8_t* request, size_t length);
  WsHandshakeResult Reject(int32_t status, const char* reason);

  WsHandshakeResult result_ = WsHandshakeResult::kNeedMore;
  int32_t status_ = 0;
  const char* reason_ = "";
  size_t consumed_ = 0;
  // A request split across reads, and how far the search for CRLF CRLF got in it.
  std::vector<uint8_t> buffer_;
  size_t fill_ = 0;
  std::string response_;
};

// base64(SHA-1(key + the RFC 6455 GUID)) of `key` (kWsKeyChars bytes, not checked here) into
// out[0, kWsAcceptChars). Exposed for tests.
void WsAcceptKey(const uint8_t* key, size_t key_length, char* out);

}  // namespace gamewire
