// Test-only binding of the WebSocket codec (ws-handshake.h, ws-frame.h): `addon.wsCodecTest`.
// The native engine calls the codec from C++; JavaScript never does in production, so this
// face favours clarity over speed: every call copies its input and returns plain objects with
// copied bytes (STYLE.md §5's no-allocation rules are for the hot paths, which this is not).
// Used by test/native/ws-codec.test.ts and the ws-handshake / ws-frame fuzz targets.
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ws-frame.h"
#include "ws-handshake.h"

namespace gamewire {
namespace {

// Most events one feed() reports before it hands back (the caller feeds the rest).
constexpr int32_t kMaxEventsPerFeed = 1024;

bool GetBytes(Napi::Env env, const Napi::Value& v, const char* what, std::vector<uint8_t>* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, std::string(what) + " must be a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  out->assign(a.Data(), a.Data() + a.ByteLength());
  return true;
}

// An integer option in [lo, hi], or `fallback` when undefined; false with a RangeError thrown.
bool GetInt(Napi::Env env, const Napi::Value& v, const char* what, double lo, double hi, double fallback, double* out) {
  if (v.IsUndefined()) {
    *out = fallback;
    return true;
  }
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= lo && d <= hi) || d != std::floor(d)) {
    Napi::RangeError::New(env, std::string(what) + " must be an integer in " + std::to_string(static_cast<int64_t>(lo)) +
                                   ".." + std::to_string(static_cast<int64_t>(hi)))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = d;
  return true;
}

Napi::Buffer<uint8_t> Copy(Napi::Env env, const uint8_t* p, size_t n) {
  return Napi::Buffer<uint8_t>::Copy(env, n == 0 ? reinterpret_cast<const uint8_t*>("") : p, n);
}

// new WsHandshake(); feed(bytes) -> { result, consumed, status, reason, response }
class WsHandshakeWrap : public Napi::ObjectWrap<WsHandshakeWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "WsHandshake", {InstanceMethod<&WsHandshakeWrap::Feed>("feed")});
  }
  explicit WsHandshakeWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WsHandshakeWrap>(info) {}

 private:
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<uint8_t> in;
    if (!GetBytes(env, info[0], "input", &in)) return env.Undefined();
    const WsHandshakeResult r = core_.Feed(in.data(), in.size());
    Napi::Object o = Napi::Object::New(env);
    o.Set("result", static_cast<double>(r));
    o.Set("consumed", static_cast<double>(core_.consumed()));
    o.Set("status", core_.status());
    o.Set("reason", core_.reason());
    o.Set("response", Copy(env, core_.response(), core_.response_size()));
    o.Set("bufferCapacity", static_cast<double>(core_.buffer_capacity()));
    return o;
  }

  WsHandshake core_;
};

// new WsDecoder({ message?, maxMessageBytes?, maxFragments?, validateUtf8? });
// feed(bytes, maxEvents?) -> { events: [{ kind, flags, closeCode, offset, data }], consumed,
// error, errorText, closeCode, closed, carryCapacity }. The input is copied (the core unmasks in place).
class WsDecoderWrap : public Napi::ObjectWrap<WsDecoderWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "WsDecoder", {InstanceMethod<&WsDecoderWrap::Feed>("feed")});
  }
  explicit WsDecoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WsDecoderWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
    WsDecoderOptions opt;
    double max_message = 0;
    double max_fragments = 0;
    if (!GetInt(env, o.Get("maxMessageBytes"), "maxMessageBytes", 1, kWsMaxMessageBytesLimit, kWsDefaultMaxMessageBytes,
                &max_message) ||
        !GetInt(env, o.Get("maxFragments"), "maxFragments", 0, UINT32_MAX, 0, &max_fragments)) {
      return;
    }
    opt.delivery = o.Get("message").ToBoolean().Value() ? WsDelivery::kMessage : WsDelivery::kStream;
    opt.max_message_bytes = static_cast<uint32_t>(max_message);
    opt.max_fragments = static_cast<uint32_t>(max_fragments);
    opt.validate_utf8 = !o.Get("validateUtf8").IsBoolean() || o.Get("validateUtf8").ToBoolean().Value();
    core_ = std::make_unique<WsFrameDecoder>(opt);
  }

 private:
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<uint8_t> in;
    double max_events = 0;
    if (core_ == nullptr || !GetBytes(env, info[0], "input", &in) ||
        !GetInt(env, info[1], "maxEvents", 1, kMaxEventsPerFeed, kMaxEventsPerFeed, &max_events)) {
      return env.Undefined();
    }
    WsEvent events[kMaxEventsPerFeed];
    const int32_t n = core_->Feed(in.data(), in.size(), events, static_cast<int32_t>(max_events));
    Napi::Array list = Napi::Array::New(env, static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
      const WsEvent& e = events[i];
      const uint8_t* base = (e.flags & kWsEventInCarry) != 0 ? core_->carry_data() : in.data();
      Napi::Object ev = Napi::Object::New(env);
      ev.Set("kind", static_cast<double>(e.kind));
      ev.Set("flags", static_cast<double>(e.flags));
      ev.Set("closeCode", static_cast<double>(e.close_code));
      ev.Set("offset", static_cast<double>(e.offset));
      ev.Set("data", Copy(env, base == nullptr ? nullptr : base + e.offset, e.length));
      list.Set(static_cast<uint32_t>(i), ev);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("events", list);
    o.Set("consumed", static_cast<double>(core_->consumed()));
    o.Set("error", static_cast<double>(core_->error()));
    o.Set("errorText", WsErrorText(core_->error()));
    o.Set("closeCode", static_cast<double>(WsErrorCloseCode(core_->error())));
    o.Set("closed", core_->closed());
    o.Set("carryCapacity", static_cast<double>(core_->carry_capacity()));
    return o;
  }

  std::unique_ptr<WsFrameDecoder> core_;
};

// acceptKey(key: string) -> string
Napi::Value AcceptKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    Napi::TypeError::New(env, "key must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string key = info[0].As<Napi::String>().Utf8Value();
  char out[kWsAcceptChars];
  WsAcceptKey(reinterpret_cast<const uint8_t*>(key.data()), key.size(), out);
  return Napi::String::New(env, out, kWsAcceptChars);
}

// encodeHeader(opcode, payloadLength) -> Buffer
Napi::Value EncodeHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double opcode = 0;
  double length = 0;
  if (!GetInt(env, info[0], "opcode", 0, 15, 0, &opcode) ||
      !GetInt(env, info[1], "payloadLength", 0, 9007199254740991.0, 0, &length)) {
    return env.Undefined();
  }
  uint8_t out[kWsMaxServerHeaderBytes];
  const size_t n = WsEncodeHeader(out, static_cast<uint8_t>(opcode), static_cast<uint64_t>(length));
  return Copy(env, out, n);
}

// encodePong(payload) -> Buffer, empty when the payload is over 125 bytes
Napi::Value EncodePong(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<uint8_t> payload;
  if (!GetBytes(env, info[0], "payload", &payload)) return env.Undefined();
  uint8_t out[kWsMaxControlFrameBytes];
  return Copy(env, out, WsEncodePong(out, sizeof(out), payload.data(), payload.size()));
}

// encodeClose(code, reason?) -> Buffer, empty when the reason is over 123 bytes
Napi::Value EncodeClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double code = 0;
  std::vector<uint8_t> reason;
  if (!GetInt(env, info[0], "code", 0, 65535, 0, &code) ||
      (!info[1].IsUndefined() && !GetBytes(env, info[1], "reason", &reason))) {
    return env.Undefined();
  }
  uint8_t out[kWsMaxControlFrameBytes];
  return Copy(env, out, WsEncodeClose(out, sizeof(out), static_cast<uint16_t>(code), reason.data(), reason.size()));
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("MAX_HANDSHAKE_BYTES", static_cast<double>(kWsMaxHandshakeBytes));
  o.Set("DEFAULT_MAX_MESSAGE_BYTES", static_cast<double>(kWsDefaultMaxMessageBytes));
  o.Set("MAX_CONTROL_PAYLOAD_BYTES", static_cast<double>(kWsMaxControlPayloadBytes));
  o.Set("MAX_EVENTS_PER_FEED", static_cast<double>(kMaxEventsPerFeed));
  return o;
}

}  // namespace

// Called once from native/addon.cc's Init.
void RegisterWsCodecTest(Napi::Env env, Napi::Object exports) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("WsHandshake", WsHandshakeWrap::Define(env));
  o.Set("WsDecoder", WsDecoderWrap::Define(env));
  o.Set("acceptKey", Napi::Function::New<AcceptKey>(env, "acceptKey"));
  o.Set("encodeHeader", Napi::Function::New<EncodeHeader>(env, "encodeHeader"));
  o.Set("encodePong", Napi::Function::New<EncodePong>(env, "encodePong"));
  o.Set("encodeClose", Napi::Function::New<EncodeClose>(env, "encodeClose"));
  o.Set("constants", Constants(env));
  exports.Set("wsCodecTest", o);
}

}  // namespace gamewire
