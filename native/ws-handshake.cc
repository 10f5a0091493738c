// The RFC 6455 §4.2 server handshake. Its answers follow what the Node engine (node:http plus
// the `ws` package, src/transport/stream-listener.ts) gives, so both engines refuse the same
// requests: a request that is no upgrade at all gets 426 (the listener's answer), a bad Upgrade
// value or key 400 (ws), a missing Host 400 (node:http requireHostHeader), headers past 16 KiB
// 431 (node:http), a method other than GET 405 (ws). Two deliberate differences: version 8
// (hybi drafts) is refused, as RFC 6455 §4.4 allows, with 426 and `Sec-WebSocket-Version: 13`;
// and a request body (Content-Length other than 0, Transfer-Encoding) is refused, because the
// bytes after the request must be frames.
#include "ws-handshake.h"

#include <cstring>
#include <utility>

#include "carry-buffer.h"

namespace gamewire {

namespace {

// RFC 6455 §1.3: appended to the key before hashing.
constexpr char kWsGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kWsGuidChars = sizeof(kWsGuid) - 1;
constexpr size_t kSha1Bytes = 20;
constexpr size_t kSha1BlockBytes = 64;
// The 64-bit message length at the end of the last SHA-1 block.
constexpr size_t kSha1LengthBytes = 8;
// The request line's version: RFC 6455 §4.1 wants HTTP/1.1 (or higher, which does not exist).
constexpr char kHttpVersion[] = "HTTP/1.1";
constexpr size_t kNotFound = SIZE_MAX;

// --- SHA-1 (FIPS 180-4 §6.1); only the accept key uses it, so it is small, not fast. ----------

inline uint32_t Rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

inline uint32_t LoadBe32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

void Sha1Block(uint32_t h[5], const uint8_t* block) {
  uint32_t w[80];
  for (int i = 0; i < 16; ++i) w[i] = LoadBe32(block + 4 * i);
  for (int i = 16; i < 80; ++i) w[i] = Rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 80; ++i) {
    uint32_t f = 0;
    uint32_t k = 0;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999u;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    const uint32_t t = Rotl(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = Rotl(b, 30);
    b = a;
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

void Sha1(const uint8_t* data, size_t length, uint8_t out[kSha1Bytes]) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  size_t at = 0;
  for (; length - at >= kSha1BlockBytes; at += kSha1BlockBytes) Sha1Block(h, data + at);
  // The rest, the 0x80 marker and the bit length fill one or two final blocks.
  uint8_t tail[2 * kSha1BlockBytes] = {};
  const size_t rest = length - at;
  if (rest != 0) std::memcpy(tail, data + at, rest);
  tail[rest] = 0x80;
  const size_t tail_bytes = rest + 1 + kSha1LengthBytes <= kSha1BlockBytes ? kSha1BlockBytes : 2 * kSha1BlockBytes;
  const uint64_t bits = static_cast<uint64_t>(length) * 8;
  for (size_t i = 0; i < kSha1LengthBytes; ++i) tail[tail_bytes - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  for (size_t b = 0; b < tail_bytes; b += kSha1BlockBytes) Sha1Block(h, tail + b);
  for (int i = 0; i < 5; ++i) {
    out[4 * i] = static_cast<uint8_t>(h[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(h[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(h[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(h[i]);
  }
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 with padding; out has room for 4 * ceil(n / 3) characters.
void Base64(const uint8_t* in, size_t n, char* out) {
  size_t o = 0;
  size_t i = 0;
  for (; n - i >= 3; i += 3) {
    const uint32_t v = (static_cast<uint32_t>(in[i]) << 16) | (static_cast<uint32_t>(in[i + 1]) << 8) | in[i + 2];
    out[o++] = kBase64[(v >> 18) & 63];
    out[o++] = kBase64[(v >> 12) & 63];
    out[o++] = kBase64[(v >> 6) & 63];
    out[o++] = kBase64[v & 63];
  }
  if (n - i == 1) {
    const uint32_t v = static_cast<uint32_t>(in[i]) << 16;
    out[o++] = kBase64[(v >> 18) & 63];
    out[o++] = kBase64[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (n - i == 2) {
    const uint32_t v = (static_cast<uint32_t>(in[i]) << 16) | (static_cast<uint32_t>(in[i + 1]) << 8);
    out[o++] = kBase64[(v >> 18) & 63];
    out[o++] = kBase64[(v >> 12) & 63];
    out[o++] = kBase64[(v >> 6) & 63];
    out[o++] = '=';
  }
}

// --- HTTP syntax (RFC 9110 §5.6) -----------------------------------------------------------------

inline bool IsAlnum(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

inline bool IsTchar(uint8_t c) { return IsAlnum(c) || (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr); }

// Field value characters: visible ASCII, obs-text, space and tab. CR, LF, NUL and other
// controls are refused (request smuggling and header injection ride on them).
inline bool IsValueChar(uint8_t c) { return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f); }

inline uint8_t Lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

bool EqualsNoCase(const uint8_t* p, size_t n, const char* lit) {
  const size_t m = std::strlen(lit);
  if (n != m) return false;
  for (size_t i = 0; i < n; ++i) {
    if (Lower(p[i]) != static_cast<uint8_t>(lit[i])) return false;
  }
  return true;
}

inline bool IsOws(uint8_t c) { return c == ' ' || c == '\t'; }

struct Span {
  size_t at = 0;
  size_t length = 0;
};

// Calls on_token(span) for each element of a comma-separated list (RFC 9110 §5.6.1), OWS
// trimmed, empty elements skipped; false if on_token refuses one.
template <typename F>
bool ForEachElement(const uint8_t* base, Span value, F&& on_token) {
  size_t i = value.at;
  const size_t end = value.at + value.length;
  while (i <= end) {
    size_t j = i;
    while (j < end && base[j] != ',') ++j;
    size_t a = i;
    size_t b = j;
    while (a < b && IsOws(base[a])) ++a;
    while (b > a && IsOws(base[b - 1])) --b;
    if (b > a && !on_token(Span{a, b - a})) return false;
    i = j + 1;
  }
  return true;
}

bool IsToken(const uint8_t* base, Span s) {
  if (s.length == 0) return false;
  for (size_t i = 0; i < s.length; ++i) {
    if (!IsTchar(base[s.at + i])) return false;
  }
  return true;
}

// RFC 6455 §4.1: the key is 16 random bytes in base64, so 22 alphabet characters and `==`
// (the check of ws, lib/websocket-server.js).
bool IsValidKey(const uint8_t* p, size_t n) {
  if (n != kWsKeyChars || p[22] != '=' || p[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsAlnum(p[i]) && p[i] != '+' && p[i] != '/') return false;
  }
  return true;
}

// The index just past the first CR LF CR LF whose last byte is at an index in [from, to), or
// kNotFound. Bytes before `from` are looked back at.
size_t FindEnd(const uint8_t* p, size_t from, size_t to) {
  size_t i = from < 3 ? 3 : from;
  while (i < to) {
    const void* lf = std::memchr(p + i, '\n', to - i);
    if (lf == nullptr) return kNotFound;
    i = static_cast<size_t>(static_cast<const uint8_t*>(lf) - p);
    if (p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r') return i + 1;
    ++i;
  }
  return kNotFound;
}

const char* StatusText(int32_t status) {
  switch (status) {
    case kHttpMethodNotAllowed:
      return "Method Not Allowed";
    case kHttpUpgradeRequired:
      return "Upgrade Required";
    case kHttpHeaderFieldsTooLarge:
      return "Request Header Fields Too Large";
    default:
      return "Bad Request";
  }
}

}  // namespace

void WsAcceptKey(const uint8_t* key, size_t key_length, char* out) {
  std::string joined(reinterpret_cast<const char*>(key), key_length);
  joined.append(kWsGuid, kWsGuidChars);
  uint8_t digest[kSha1Bytes];
  Sha1(reinterpret_cast<const uint8_t*>(joined.data()), joined.size(), digest);
  Base64(digest, kSha1Bytes, out);
}

void WsHandshake::Reset() {
  result_ = WsHandshakeResult::kNeedMore;
  status_ = 0;
  reason_ = "";
  consumed_ = 0;
  fill_ = 0;
  response_.clear();
}

WsHandshakeResult WsHandshake::Feed(const uint8_t* input, size_t length) {
  consumed_ = 0;
  if (result_ != WsHandshakeResult::kNeedMore) return result_;
  if (input == nullptr || length == 0) return result_;
  if (fill_ == 0) {
    // The whole request in one read (the usual case): parsed in place, nothing buffered.
    const size_t scan = length < kWsMaxHandshakeBytes ? length : kWsMaxHandshakeBytes;
    const size_t end = FindEnd(input, 0, scan);
    if (end != kNotFound) {
      consumed_ = end;
      return Parse(input, end);
    }
    if (length >= kWsMaxHandshakeBytes) {
      consumed_ = kWsMaxHandshakeBytes;
      return Reject(kHttpHeaderFieldsTooLarge, "Request headers too large");
    }
  }
  // Buffered with the bytes that arrived, never more than the limit (a slow sender holds at
  // most kWsMaxHandshakeBytes until the login timeout closes it).
  const size_t room = kWsMaxHandshakeBytes - fill_;
  const size_t take = length < room ? length : room;
  AppendPending(buffer_, fill_, input, take, kWsMaxHandshakeBytes);
  const size_t end = FindEnd(buffer_.data(), fill_, fill_ + take);
  if (end != kNotFound) {
    consumed_ = end - fill_;
    fill_ = end;
    return Parse(buffer_.data(), end);
  }
  fill_ += take;
  consumed_ = take;
  if (fill_ == kWsMaxHandshakeBytes) return Reject(kHttpHeaderFieldsTooLarge, "Request headers too large");
  return result_;
}

WsHandshakeResult WsHandshake::Reject(int32_t status, const char* reason) {
  result_ = WsHandshakeResult::kRejected;
  status_ = status;
  reason_ = reason;
  response_.assign("HTTP/1.1 ");
  response_.append(std::to_string(status)).append(" ").append(StatusText(status));
  response_.append("\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ");
  response_.append(std::to_string(std::strlen(reason))).append("\r\n");
  // RFC 9110 §15.5.22: a 426 names the protocol to switch to; RFC 6455 §4.4: the version too.
  if (status == kHttpUpgradeRequired) response_.append("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
  response_.append("\r\n").append(reason);
  return result_;
}

// `request` holds the whole request, its final CR LF CR LF included (length >= 4).
WsHandshakeResult WsHandshake::Parse(const uint8_t* request, size_t length) {
  const char* kBad = "Malformed HTTP request";
  // --- request line: method SP request-target SP HTTP-version CRLF
  size_t pos = 0;
  size_t method_end = pos;
  while (method_end < length && IsTchar(request[method_end])) ++method_end;
  if (method_end == 0 || method_end >= length || request[method_end] != ' ') return Reject(kHttpBadRequest, kBad);
  const Span method{0, method_end};
  size_t target_end = method_end + 1;
  while (target_end < length && request[target_end] > 0x20 && request[target_end] < 0x7f) ++target_end;
  if (target_end == method_end + 1 || target_end >= length || request[target_end] != ' ') return Reject(kHttpBadRequest, kBad);
  const size_t version_at = target_end + 1;
  const size_t version_chars = sizeof(kHttpVersion) - 1;
  if (length - version_at < version_chars + 2 || std::memcmp(request + version_at, kHttpVersion, version_chars) != 0 ||
      request[version_at + version_chars] != '\r' || request[version_at + version_chars + 1] != '\n') {
    return Reject(kHttpBadRequest, kBad);
  }
  pos = version_at + version_chars + 2;

  // --- header fields, until the empty line
  int host_count = 0;
  int upgrade_count = 0;
  int key_count = 0;
  int version_count = 0;
  bool connection_upgrade = false;
  bool has_body = false;
  Span upgrade;
  Span key;
  Span version;
  bool protocols_valid = true;
  Span first_protocol;
  std::vector<Span> protocols;
  while (true) {
    if (pos >= length) return Reject(kHttpBadRequest, kBad);
    if (request[pos] == '\r') {
      // The empty line; FindEnd guarantees it is CR LF and ends the request.
      if (pos + 2 != length) return Reject(kHttpBadRequest, kBad);
      break;
    }
    // No obs-fold (RFC 9112 §5.2: a server may refuse it) and no whitespace before the colon.
    size_t name_end = pos;
    while (name_end < length && IsTchar(request[name_end])) ++name_end;
    if (name_end == pos || request[name_end] != ':') return Reject(kHttpBadRequest, kBad);
    size_t line_end = name_end + 1;
    while (line_end < length && IsValueChar(request[line_end])) ++line_end;
    if (line_end + 1 >= length || request[line_end] != '\r' || request[line_end + 1] != '\n') {
      return Reject(kHttpBadRequest, kBad);
    }
    size_t a = name_end + 1;
    size_t b = line_end;
    while (a < b && IsOws(request[a])) ++a;
    while (b > a && IsOws(request[b - 1])) --b;
    const Span value{a, b - a};
    const uint8_t* name = request + pos;
    const size_t name_length = name_end - pos;
    if (EqualsNoCase(name, name_length, "host")) {
      ++host_count;
    } else if (EqualsNoCase(name, name_length, "upgrade")) {
      ++upgrade_count;
      upgrade = value;
    } else if (EqualsNoCase(name, name_length, "connection")) {
      ForEachElement(request, value, [&](Span t) {
        if (EqualsNoCase(request + t.at, t.length, "upgrade")) connection_upgrade = true;
        return true;
      });
    } else if (EqualsNoCase(name, name_length, "sec-websocket-key")) {
      ++key_count;
      key = value;
    } else if (EqualsNoCase(name, name_length, "sec-websocket-version")) {
      ++version_count;
      version = value;
    } else if (EqualsNoCase(name, name_length, "sec-websocket-protocol")) {
      // ws refuses a malformed list and a repeated name; it echoes the first one offered, and a
      // browser that offered some fails a 101 that names none.
      protocols_valid = protocols_valid && ForEachElement(request, value, [&](Span t) {
        if (!IsToken(request, t) || protocols.size() >= kWsMaxProtocols) return false;
        for (const Span& seen : protocols) {
          if (seen.length == t.length && std::memcmp(request + seen.at, request + t.at, t.length) == 0) return false;
        }
        if (protocols.empty()) first_protocol = t;
        protocols.push_back(t);
        return true;
      });
    } else if (EqualsNoCase(name, name_length, "content-length")) {
      for (size_t i = 0; i < value.length; ++i) has_body = has_body || request[value.at + i] != '0';
      has_body = has_body || value.length == 0;
    } else if (EqualsNoCase(name, name_length, "transfer-encoding")) {
      has_body = true;
    }
    pos = line_end + 2;
  }

  // --- the checks, in the order of the answers above
  // Methods are case-sensitive (RFC 9110 §9.1).
  if (method.length != 3 || std::memcmp(request, "GET", 3) != 0) {
    return Reject(kHttpMethodNotAllowed, "Method Not Allowed");
  }
  if (host_count != 1) return Reject(kHttpBadRequest, "Missing or repeated Host header");
  if (has_body) return Reject(kHttpBadRequest, "A request body is not allowed");
  if (!connection_upgrade || upgrade_count == 0) return Reject(kHttpUpgradeRequired, "WebSocket upgrade required");
  if (upgrade_count != 1 || !EqualsNoCase(request + upgrade.at, upgrade.length, "websocket")) {
    return Reject(kHttpBadRequest, "Invalid Upgrade header");
  }
  if (key_count != 1 || !IsValidKey(request + key.at, key.length)) {
    return Reject(kHttpBadRequest, "Missing or invalid Sec-WebSocket-Key header");
  }
  if (version_count != 1 || version.length != 2 || request[version.at] != '1' || request[version.at + 1] != '3') {
    return Reject(kHttpUpgradeRequired, "Unsupported Sec-WebSocket-Version");
  }
  if (!protocols_valid) return Reject(kHttpBadRequest, "Invalid Sec-WebSocket-Protocol header");

  char accept[kWsAcceptChars];
  WsAcceptKey(request + key.at, key.length, accept);
  result_ = WsHandshakeResult::kAccepted;
  status_ = kHttpSwitchingProtocols;
  reason_ = "";
  response_.assign("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
  response_.append(accept, kWsAcceptChars).append("\r\n");
  if (!protocols.empty()) {
    response_.append("Sec-WebSocket-Protocol: ");
    response_.append(reinterpret_cast<const char*>(request + first_protocol.at), first_protocol.length).append("\r\n");
  }
  response_.append("\r\n");
  return result_;
}

}  // namespace gamewire
