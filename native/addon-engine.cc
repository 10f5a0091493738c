// The binding of the native relay engine (issue 19): `RelayEngine`, one ObjectWrap owning one
// engine::Engine (native/engine/engine.h). Thin, as native/addon.cc's wrappers: argument checks,
// one call into the engine, no protocol logic. The contract is docs/native-engine.md.
//
// Events: the I/O thread hands each batch to a ThreadSafeFunction (one JavaScript call per batch,
// never per frame or per read); the batch is copied into an Int32Array and a Buffer on the
// JavaScript thread and freed. Lifetime: a started engine holds a strong reference to its
// JavaScript object and the ThreadSafeFunction keeps the event loop alive, as a listening server
// does; stop() joins the I/O thread, drops batches not yet delivered and lets both go. An env
// cleanup hook (worker termination, process exit) stops the thread before Node tears the
// ThreadSafeFunction down.
#ifdef __linux__

#include <napi.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "engine/engine.h"

namespace gamewire {
namespace {

using engine::Engine;
using engine::EngineConfig;
using engine::EventBatch;

// Largest connection id: ids are positive int32 (engine-limits.h kSlotBits + kGenerationBits).
constexpr double kMaxConnId = 2147483647.0;

// Shared by the binding and the ThreadSafeFunction; freed by the latter's finalizer, so a batch
// still queued when stop() ran finds `stopped` set and is dropped instead of delivered.
struct SinkState {
  bool stopped = false;
  Engine* engine = nullptr;  // alive while !stopped (stop() sets stopped before the engine goes)
};

void DeliverBatch(Napi::Env env, Napi::Function callback, SinkState* state, EventBatch* batch);
using Tsfn = Napi::TypedThreadSafeFunction<SinkState, EventBatch, DeliverBatch>;

void DeliverBatch(Napi::Env env, Napi::Function callback, SinkState* state, EventBatch* raw) {
  std::unique_ptr<EventBatch> batch(raw);
  // env is null while Node drains the queue of a closing ThreadSafeFunction: only free.
  if (env == nullptr || callback.IsEmpty() || state == nullptr || state->stopped) return;
  Napi::Int32Array records = Napi::Int32Array::New(env, batch->records.size());
  if (!batch->records.empty()) std::memcpy(records.Data(), batch->records.data(), batch->records.size() * sizeof(int32_t));
  Napi::Buffer<uint8_t> bytes = Napi::Buffer<uint8_t>::Copy(env, batch->bytes.data(), batch->bytes.size());
  callback.Call({records, Napi::Number::New(env, batch->count), bytes});
  state->engine->EventsDone(batch->count, batch->remote_bytes);
}

class Sink : public engine::EventSink {
 public:
  Sink(Tsfn tsfn, Engine* engine) : tsfn_(tsfn), engine_(engine) {}
  void Deliver(EventBatch* batch) override {
    // Non-blocking: the I/O thread never waits for JavaScript (stop() joins it from there).
    if (tsfn_.NonBlockingCall(batch) != napi_ok) {
      engine_->EventsDone(batch->count, batch->remote_bytes);
      delete batch;
    }
  }

 private:
  Tsfn tsfn_;
  Engine* engine_;
};

// A number property of `config` that is finite and within [min, max], or false with a TypeError.
bool ConfigNumber(Napi::Object config, const char* name, double min, double max, double* out) {
  Napi::Env env = config.Env();
  Napi::Value v = config.Get(name);
  if (env.IsExceptionPending()) return false;
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) {
    Napi::TypeError::New(env, std::string("config.") + name + " must be a finite number").ThrowAsJavaScriptException();
    return false;
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < min || d > max) {
    Napi::RangeError::New(env, std::string("config.") + name + " must be in " + std::to_string(static_cast<int64_t>(min)) +
                                   ".." + std::to_string(static_cast<int64_t>(max)) + ", got " + std::to_string(d))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = d;
  return true;
}

// An optional number property of `config`: `fallback` when undefined, else as ConfigNumber.
bool ConfigOptional(Napi::Object config, const char* name, double min, double max, double fallback, double* out) {
  Napi::Value v = config.Get(name);
  if (config.Env().IsExceptionPending()) return false;
  if (v.IsUndefined()) {
    *out = fallback;
    return true;
  }
  return ConfigNumber(config, name, min, max, out);
}

// info[i] as an integer in [min, max], or false with a TypeError/RangeError naming `what`.
bool ArgInt(const Napi::CallbackInfo& info, size_t i, double min, double max, const char* what, int64_t* out) {
  Napi::Env env = info.Env();
  if (!info[i].IsNumber()) {
    Napi::TypeError::New(env, std::string(what) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != std::floor(d)) {
    Napi::RangeError::New(env, std::string(what) + " must be an integer in " + std::to_string(static_cast<int64_t>(min)) +
                                   ".." + std::to_string(static_cast<int64_t>(max)))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

const char* ErrnoCode(int error) {
  switch (error) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EISCONN: return "EISCONN";
    case ENOTSOCK: return "ENOTSOCK";
    case EBADF: return "EBADF";
    case Engine::kErrorNotFound: return "ENOTFOUND";
    default: return "EIO";
  }
}

class RelayEngineWrap : public Napi::ObjectWrap<RelayEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    Napi::Array names = Napi::Array::New(env, engine::kStatCount);
    for (uint32_t i = 0; i < static_cast<uint32_t>(engine::kStatCount); ++i) names.Set(i, engine::kStatNames[i]);
    return DefineClass(env, "RelayEngine",
                       {
                           InstanceMethod<&RelayEngineWrap::Listen>("listen"),
                           InstanceMethod<&RelayEngineWrap::Start>("start"),
                           InstanceMethod<&RelayEngineWrap::Admit>("admit"),
                           InstanceMethod<&RelayEngineWrap::Resume>("resume"),
                           InstanceMethod<&RelayEngineWrap::Send>("send"),
                           InstanceMethod<&RelayEngineWrap::Enter>("enter"),
                           InstanceMethod<&RelayEngineWrap::Leave>("leave"),
                           InstanceMethod<&RelayEngineWrap::LeaveMember>("leaveMember"),
                           InstanceMethod<&RelayEngineWrap::Pause>("pause"),
                           InstanceMethod<&RelayEngineWrap::Unpause>("unpause"),
                           InstanceMethod<&RelayEngineWrap::Own>("own"),
                           InstanceMethod<&RelayEngineWrap::Close>("close"),
                           InstanceMethod<&RelayEngineWrap::Stats>("stats"),
                           InstanceMethod<&RelayEngineWrap::Stop>("stop"),
                           InstanceMethod<&RelayEngineWrap::Detach>("detach"),
                           InstanceMethod<&RelayEngineWrap::Adopt>("adopt"),
                           StaticValue("statsNames", names),
                           StaticValue("EVENT_STRIDE", Napi::Number::New(env, engine::kEventStride)),
                           StaticValue("webSocket", Napi::Boolean::New(env, true)),
                           StaticValue("REMOTE", Napi::Number::New(env, engine::kRemote)),
                           StaticValue("remote", Napi::Boolean::New(env, true)),
                           StaticValue("handover", Napi::Boolean::New(env, true)),
                           StaticMethod<&RelayEngineWrap::ReservePort>("reservePort"),
                       });
  }

  RelayEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RelayEngineWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
      Napi::TypeError::New(env, "config must be an object").ThrowAsJavaScriptException();
      return;
    }
    if (!info[1].IsFunction()) {
      Napi::TypeError::New(env, "onEvents must be a function").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object config = info[0].As<Napi::Object>();
    Napi::Value host = config.Get("host");
    if (!host.IsString()) {
      Napi::TypeError::New(env, "config.host must be a string").ThrowAsJavaScriptException();
      return;
    }
    host_ = host.As<Napi::String>().Utf8Value();
    EngineConfig c;
    double port = 0, ws_payload = 0, login = 0, idle = 0, stall = 0, keepalive = 0, max_out = 0, high = 0, low = 0,
           bytes_rate = 0, units_rate = 0, burst = 0, policy = 0, close_grace = 0, max_events = 0, batch_delay = 0;
    constexpr double kMaxMs = 2147483647.0;
    constexpr double kMaxBytes = 9007199254740991.0;
    if (!ConfigNumber(config, "port", 0, 65535, &port) ||
        !ConfigNumber(config, "maxWebSocketPayloadBytes", 0, kMaxBytes, &ws_payload) ||
        !ConfigNumber(config, "loginTimeoutMs", 0, kMaxMs, &login) ||
        !ConfigNumber(config, "idleTimeoutMs", 0, kMaxMs, &idle) ||
        !ConfigNumber(config, "stallTimeoutMs", 0, kMaxMs, &stall) ||
        !ConfigNumber(config, "keepaliveMs", 0, kMaxMs, &keepalive) ||
        !ConfigNumber(config, "maxOutboundBytes", 0, kMaxBytes, &max_out) ||
        !ConfigNumber(config, "outboundHighWaterBytes", 0, kMaxBytes, &high) ||
        !ConfigNumber(config, "outboundLowWaterBytes", 0, kMaxBytes, &low) ||
        !ConfigNumber(config, "inboundBytesPerSec", 0, kMaxBytes, &bytes_rate) ||
        !ConfigNumber(config, "inboundUnitsPerSec", 0, kMaxBytes, &units_rate) ||
        !ConfigNumber(config, "inboundBurstSeconds", 0, kMaxMs, &burst) ||
        !ConfigNumber(config, "inboundPolicy", 0, 1, &policy) ||
        !ConfigOptional(config, "closeGraceMs", 0, kMaxMs, static_cast<double>(engine::kCloseGraceMs), &close_grace) ||
        !ConfigOptional(config, "maxEventsInFlight", 1, static_cast<double>(engine::kMaxEventsInFlight), static_cast<double>(engine::kMaxEventsInFlight), &max_events) ||
        !ConfigOptional(config, "batchDelayUs", 0, static_cast<double>(engine::kMaxBatchDelayUs), 0, &batch_delay)) {
      return;
    }
    Napi::Value ws = config.Get("websocket");
    if (!ws.IsBoolean()) {
      Napi::TypeError::New(env, "config.websocket must be a boolean").ThrowAsJavaScriptException();
      return;
    }
    c.websocket = ws.As<Napi::Boolean>().Value();
    Napi::Value reuse = config.Get("reusePort");
    if (!reuse.IsUndefined() && !reuse.IsBoolean()) {
      Napi::TypeError::New(env, "config.reusePort must be a boolean").ThrowAsJavaScriptException();
      return;
    }
    c.reuse_port = reuse.IsBoolean() && reuse.As<Napi::Boolean>().Value();
    c.max_websocket_payload_bytes = static_cast<int64_t>(ws_payload);
    c.login_timeout_ms = static_cast<int64_t>(login);
    c.idle_timeout_ms = static_cast<int64_t>(idle);
    c.stall_timeout_ms = static_cast<int64_t>(stall);
    c.keepalive_ms = static_cast<int64_t>(keepalive);
    c.max_outbound_bytes = static_cast<int64_t>(max_out);
    c.outbound_high_water_bytes = static_cast<int64_t>(high);
    c.outbound_low_water_bytes = static_cast<int64_t>(low);
    c.inbound_bytes_per_sec = bytes_rate;
    c.inbound_units_per_sec = units_rate;
    c.inbound_burst_seconds = burst;
    c.inbound_policy = static_cast<int32_t>(policy);
    c.close_grace_ms = static_cast<int64_t>(close_grace);
    c.max_events_in_flight = static_cast<int64_t>(max_events);
    c.batch_delay_us = static_cast<int64_t>(batch_delay);
    port_ = static_cast<int>(port);
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    engine_.reset(new Engine(c));
  }

  ~RelayEngineWrap() override { Shutdown(); }

 private:
  bool Ready(Napi::Env env) {
    if (engine_) return true;
    Napi::Error::New(env, "RelayEngine was not constructed").ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return env.Undefined();
    int error = 0;
    const int port = engine_->Listen(host_, port_, &error);
    if (port < 0) {
      const char* code = ErrnoCode(error);
      const std::string what = error == Engine::kErrorNotFound ? "host not found" : std::strerror(error);
      Napi::Error e = Napi::Error::New(env, std::string("listen ") + code + ": " + what + " " + host_ + ":" + std::to_string(port_));
      e.Set("code", Napi::String::New(env, code));
      e.Set("address", Napi::String::New(env, host_));
      e.Set("port", Napi::Number::New(env, port_));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, port);
  }

  // RelayEngine.reservePort(host, port): { fd, port }, a bound SO_REUSEPORT socket that holds the
  // port for `--workers` engines configured with reusePort (Engine::ReservePort); the caller closes fd.
  static Napi::Value ReservePort(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "reservePort: host must be a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int64_t port = 0;
    if (!ArgInt(info, 1, 0, 65535, "port", &port)) return env.Undefined();
    const std::string host = info[0].As<Napi::String>().Utf8Value();
    int error = 0;
    int bound = 0;
    const int fd = Engine::ReservePort(host, static_cast<int>(port), &bound, &error);
    if (fd < 0) {
      const char* code = ErrnoCode(error);
      const std::string what = error == Engine::kErrorNotFound ? "host not found" : std::strerror(error);
      Napi::Error e = Napi::Error::New(env, std::string("listen ") + code + ": " + what + " " + host + ":" + std::to_string(port));
      e.Set("code", Napi::String::New(env, code));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("fd", Napi::Number::New(env, fd));
    out.Set("port", Napi::Number::New(env, bound));
    return out;
  }

  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return;
    if (started_) {
      Napi::Error::New(env, "RelayEngine already started").ThrowAsJavaScriptException();
      return;
    }
    state_ = new SinkState();
    state_->engine = engine_.get();
    tsfn_ = Tsfn::New(env, callback_.Value(), "gamewire.RelayEngine", 0, 1, state_,
                      [](Napi::Env, void*, SinkState* state) { delete state; });
    sink_.reset(new Sink(tsfn_, engine_.get()));
    if (!engine_->Start(sink_.get())) {
      tsfn_.Release();
      state_ = nullptr;
      Napi::Error::New(env, "RelayEngine cannot start: call listen() first (once)").ThrowAsJavaScriptException();
      return;
    }
    started_ = true;
    Ref();
    env_ = env;
    // Registered after the ThreadSafeFunction's own hook, so it runs first (reverse order).
    napi_add_env_cleanup_hook(env, CleanupHook, this);
  }

  static void CleanupHook(void* arg) { static_cast<RelayEngineWrap*>(arg)->Shutdown(); }

  // Stops the thread, then lets the ThreadSafeFunction and the strong reference go.
  void Shutdown() {
    if (engine_) engine_->Stop();
    if (!started_) return;
    started_ = false;
    state_->stopped = true;
    tsfn_.Release();
    state_ = nullptr;
    napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  }

  bool Conn(const Napi::CallbackInfo& info, size_t i, const char* what, uint32_t* out) {
    int64_t v = 0;
    if (!Ready(info.Env()) || !ArgInt(info, i, 1, kMaxConnId, what, &v)) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  }

  void Admit(const Napi::CallbackInfo& info) {
    uint32_t conn = 0;
    if (Conn(info, 0, "conn", &conn)) engine_->Admit(conn);
  }

  void Resume(const Napi::CallbackInfo& info) {
    uint32_t conn = 0;
    if (Conn(info, 0, "conn", &conn)) engine_->Resume(conn);
  }

  void Send(const Napi::CallbackInfo& info) {
    uint32_t conn = 0;
    if (!Conn(info, 0, "conn", &conn)) return;
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(info.Env(), "bytes must be a Uint8Array").ThrowAsJavaScriptException();
      return;
    }
    Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
    engine_->Send(conn, bytes.Data(), bytes.ByteLength());
  }

  // user or owner may be REMOTE (0): the far end of a route that crosses nodes; not both.
  void Enter(const Napi::CallbackInfo& info) {
    int64_t user = 0, owner = 0, j_in = 0, j_own = 0, user_nr = 0;
    if (!Ready(info.Env()) || !ArgInt(info, 0, 0, kMaxConnId, "user", &user) || !ArgInt(info, 1, 0, 127, "jIn", &j_in) ||
        !ArgInt(info, 2, 0, kMaxConnId, "owner", &owner) || !ArgInt(info, 3, 0, 127, "jOwn", &j_own) ||
        !ArgInt(info, 4, 0, 255, "userNr", &user_nr)) {
      return;
    }
    if (user == engine::kRemote && owner == engine::kRemote) {
      Napi::RangeError::New(info.Env(), "user and owner cannot both be REMOTE").ThrowAsJavaScriptException();
      return;
    }
    engine_->Enter(static_cast<uint32_t>(user), static_cast<int32_t>(j_in), static_cast<uint32_t>(owner),
                   static_cast<int32_t>(j_own), static_cast<int32_t>(user_nr));
  }

  void LeaveMember(const Napi::CallbackInfo& info) {
    uint32_t owner = 0;
    int64_t j_own = 0, user_nr = 0;
    if (Conn(info, 0, "owner", &owner) && ArgInt(info, 1, 0, 127, "jOwn", &j_own) && ArgInt(info, 2, 0, 255, "userNr", &user_nr)) {
      engine_->LeaveMember(owner, static_cast<int32_t>(j_own), static_cast<int32_t>(user_nr));
    }
  }

  void Pause(const Napi::CallbackInfo& info) {
    uint32_t conn = 0;
    if (Conn(info, 0, "conn", &conn)) engine_->Pause(conn);
  }

  void Unpause(const Napi::CallbackInfo& info) {
    uint32_t conn = 0;
    if (Conn(info, 0, "conn", &conn)) engine_->Unpause(conn);
  }

  void Leave(const Napi::CallbackInfo& info) {
    uint32_t user = 0;
    int64_t j_in = 0;
    if (Conn(info, 0, "user", &user) && ArgInt(info, 1, 0, 127, "jIn", &j_in)) engine_->Leave(user, static_cast<int32_t>(j_in));
  }

  void Own(const Napi::CallbackInfo& info) {
    uint32_t owner = 0;
    int64_t j_own = 0;
    if (!Conn(info, 0, "owner", &owner) || !ArgInt(info, 1, 0, 127, "jOwn", &j_own)) return;
    if (!info[2].IsBoolean()) {
      Napi::TypeError::New(info.Env(), "owned must be a boolean").ThrowAsJavaScriptException();
      return;
    }
    engine_->Own(owner, static_cast<int32_t>(j_own), info[2].As<Napi::Boolean>().Value());
  }

  void Close(const Napi::CallbackInfo& info) {
    uint32_t conn = 0;
    int64_t reason = 0;
    if (!Conn(info, 0, "conn", &conn) || !ArgInt(info, 1, 0, engine::kReasonCount - 1, "reasonCode", &reason)) return;
    // Optional: only the relay's shutdown flushes; every other close is abortive, as the Node engine's.
    if (!info[2].IsUndefined() && !info[2].IsBoolean()) {
      Napi::TypeError::New(info.Env(), "graceful must be a boolean").ThrowAsJavaScriptException();
      return;
    }
    engine_->Close(conn, static_cast<int32_t>(reason), info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value());
  }

  void Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Ready(env)) return;
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      Napi::TypeError::New(env, "out must be a Float64Array").ThrowAsJavaScriptException();
      return;
    }
    Napi::Float64Array out = info[0].As<Napi::Float64Array>();
    if (out.ElementLength() < static_cast<size_t>(engine::kStatCount)) {
      Napi::RangeError::New(env, "out must hold at least " + std::to_string(engine::kStatCount) + " slots (RelayEngine.statsNames.length)")
          .ThrowAsJavaScriptException();
      return;
    }
    engine_->Stats(out.Data(), out.ElementLength());
  }

  void Stop(const Napi::CallbackInfo& info) {
    if (!Ready(info.Env())) return;
    const bool was_started = started_;
    Shutdown();
    if (was_started) Unref();
  }

  // ---- handover (relay --workers, docs/native-engine.md "Handover") ----

  // detach(conn): { fd, bytes } (the fd is the caller's to close) or null, nothing changed.
  Napi::Value Detach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t conn = 0;
    if (!Conn(info, 0, "conn", &conn)) return env.Undefined();
    int fd = -1;
    std::vector<uint8_t> held;
    if (!started_ || !engine_->Detach(conn, &fd, &held)) return env.Null();
    Napi::Object out = Napi::Object::New(env);
    out.Set("fd", Napi::Number::New(env, fd));
    out.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, held.data(), held.size()));
    return out;
  }

  // adopt(fd, bytes, remoteAddress, remotePort): the connection's id, or 0 when the engine has no
  // room; the engine takes a duplicate of `fd`, so the caller keeps and closes its own.
  Napi::Value Adopt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t fd = 0, port = 0;
    if (!Ready(env) || !ArgInt(info, 0, 0, 2147483647.0, "fd", &fd)) return env.Undefined();
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "bytes must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
    if (bytes.ByteLength() > engine::kMaxAdoptBytes) {
      Napi::RangeError::New(env, "bytes must be at most " + std::to_string(engine::kMaxAdoptBytes) + " bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!info[2].IsString()) {
      Napi::TypeError::New(env, "remoteAddress must be a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const std::string ip = info[2].As<Napi::String>().Utf8Value();
    if (ip.size() > kMaxAddressBytes) {
      Napi::RangeError::New(env, "remoteAddress must be at most " + std::to_string(kMaxAddressBytes) + " bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!ArgInt(info, 3, 0, 65535, "remotePort", &port)) return env.Undefined();
    if (!started_) {
      Napi::Error::New(env, "RelayEngine is not running: adopt() needs start() and no stop()").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // A connected TCP socket (IPv4 or IPv6), else an Error with the errno's code.
    int type = 0, domain = 0;
    socklen_t len = sizeof type;
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int error = 0;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_TYPE, &type, &len) != 0) error = errno;
    else if (type != SOCK_STREAM) error = EPROTOTYPE;
    else if ((len = sizeof domain, getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &len)) != 0) error = errno;
    else if (domain != AF_INET && domain != AF_INET6) error = EAFNOSUPPORT;
    else if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) error = errno;
    int own = -1;
    if (error == 0) {
      own = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
      if (own < 0) error = errno;
    }
    if (error == 0) {
      const int flags = fcntl(own, F_GETFL);
      if (flags < 0 || fcntl(own, F_SETFL, flags | O_NONBLOCK) != 0) error = errno;
    }
    if (error != 0) {
      if (own >= 0) close(own);
      const char* code = HandoverErrnoCode(error);
      Napi::Error e = Napi::Error::New(env, std::string("adopt ") + code + ": fd " + std::to_string(fd) + " is not a connected TCP socket (" + std::strerror(error) + ")");
      e.Set("code", Napi::String::New(env, code));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint32_t id = engine_->Adopt(own, bytes.Data(), bytes.ByteLength(), ip, static_cast<int32_t>(port));
    if (id == 0) close(own);
    return Napi::Number::New(env, id);
  }

  static const char* HandoverErrnoCode(int error) {
    switch (error) {
      case EBADF: return "EBADF";
      case ENOTSOCK: return "ENOTSOCK";
      case ENOTCONN: return "ENOTCONN";
      case EPROTOTYPE: return "EPROTOTYPE";
      case EAFNOSUPPORT: return "EAFNOSUPPORT";
      case EMFILE: return "EMFILE";
      default: return "EINVAL";
    }
  }

  // Longest remote address adopt() takes (bytes): an IPv6 text address with a zone fits.
  static constexpr size_t kMaxAddressBytes = 64;

  std::unique_ptr<Engine> engine_;
  std::string host_;
  int port_ = 0;
  Napi::FunctionReference callback_;
  Tsfn tsfn_;
  SinkState* state_ = nullptr;
  std::unique_ptr<Sink> sink_;
  bool started_ = false;
  napi_env env_ = nullptr;
};

}  // namespace

Napi::Function DefineRelayEngine(Napi::Env env) { return RelayEngineWrap::Define(env); }

}  // namespace gamewire

#endif  // __linux__
