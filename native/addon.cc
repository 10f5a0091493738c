// The gamewire addon: one thin ObjectWrap per core (STYLE.md §3). The only file that includes
// <napi.h>. Each method checks its arguments, calls the core once and fills JS-owned typed
// arrays; no protocol logic lives here and no JS value is made per unit (DESIGN.md).
//
// Boundary layout, shared with src/core/native.ts:
//   parsers  state Int32Array = [consumed, error, carrySize, units...]; the wrapper's `units`
//            is a view of it from kMetaSlots on. An InCarry unit's bytes are copied into the
//            JS-owned carry buffer; when it is too small, carrySize says how much the wrapper
//            must allocate before calling copyCarry(buffer) (growth only, so rarely).
//   aead     spans checked here as in the twin; batch jobs checked before any work.
//   ring     arena Uint8Array, polled Float64Array and meta Float64Array [size, dropped].
// Unit offsets of the cores are relative to the input they were given; this binding adds the
// feed offset so the JS face reports offsets into the JS buffer, as the TS twins do.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "aead.h"
#include "chunk-assembler.h"
#include "common.h"
#include "event-ring.h"
#include "frame-decoder.h"
#include "joint-parser.h"
#include "varint.h"

#ifndef GAMEWIRE_SOURCE_HASH
#define GAMEWIRE_SOURCE_HASH "unstamped"
#endif

namespace gamewire {

#ifdef __linux__
// The native relay engine's binding (native/addon-engine.cc; Linux only, epoll).
Napi::Function DefineRelayEngine(Napi::Env env);
#endif

// The WebSocket codec's test-only face, native/addon-ws-test.cc.
void RegisterWsCodecTest(Napi::Env env, Napi::Object exports);
// The AddressSanitizer allocator's figures (undefined unless built with ASan), native/addon-sanitizer.cc.
void RegisterSanitizerHeap(Napi::Env env, Napi::Object exports);

namespace {

// Parser state slots before the units: [consumed, error, carrySize].
constexpr size_t kMetaSlots = 3;
constexpr size_t kMetaConsumed = 0;
constexpr size_t kMetaError = 1;
constexpr size_t kMetaCarrySize = 2;
// EventRing meta slots: [size, dropped].
constexpr size_t kRingMetaSlots = 2;
// Largest unit capacity the wrappers ask for (the twins' MAX_UNITS_LIMIT).
constexpr size_t kMaxUnitsLimit = size_t{1} << 20;

// A typed array's memory and element count.
struct Span {
  uint8_t* data = nullptr;
  size_t length = 0;  // elements
};

// The typed array `value` of type `want`, or false with a TypeError thrown.
bool GetTyped(Napi::Env env, napi_value value, napi_typedarray_type want, const char* what, Span* out) {
  napi_typedarray_type type = napi_int8_array;
  void* data = nullptr;
  // Fails with napi_invalid_arg (no exception pending) for anything but a typed array.
  if (napi_get_typedarray_info(env, value, &type, &out->length, &data, nullptr, nullptr) != napi_ok || type != want) {
    const char* name = want == napi_uint8_array     ? "a Uint8Array"
                       : want == napi_int32_array   ? "an Int32Array"
                       : want == napi_float64_array ? "a Float64Array"
                                                    : "a typed array";
    Napi::TypeError::New(env, std::string(what) + " must be " + name).ThrowAsJavaScriptException();
    return false;
  }
  out->data = static_cast<uint8_t*>(data);
  return true;
}

// A number that is an integer in [0, max], or false with a RangeError thrown.
bool GetIndex(Napi::Env env, napi_value value, size_t max, const char* what, size_t* out) {
  double d = 0;
  if (napi_get_value_double(env, value, &d) != napi_ok || !(d >= 0) || d != std::floor(d) ||
      d > static_cast<double>(max)) {
    Napi::RangeError::New(env, std::string(what) + " must be an integer in 0.." + std::to_string(max))
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

// input, offset, length at info[first..first+2]: the span input[offset, offset + length).
bool GetInput(const Napi::CallbackInfo& info, size_t first, Span* span, size_t* offset) {
  Napi::Env env = info.Env();
  Span whole;
  size_t length = 0;
  if (!GetTyped(env, info[first], napi_uint8_array, "input", &whole) ||
      !GetIndex(env, info[first + 1], whole.length, "offset", offset) ||
      !GetIndex(env, info[first + 2], whole.length - *offset, "length", &length)) {
    return false;
  }
  span->data = whole.data + *offset;
  span->length = length;
  return true;
}

// The parser state array held by `ref`: meta slots, then `stride`-slot units.
bool GetState(Napi::Env env, const Napi::Reference<Napi::Int32Array>& ref, int32_t stride, int32_t** meta,
              int32_t* max_units) {
  Span s;
  if (!GetTyped(env, ref.Value(), napi_int32_array, "state", &s)) return false;
  if (s.length < kMetaSlots + static_cast<size_t>(stride)) {
    Napi::TypeError::New(env, "state array was detached").ThrowAsJavaScriptException();
    return false;
  }
  *meta = reinterpret_cast<int32_t*>(s.data);
  *max_units = static_cast<int32_t>((s.length - kMetaSlots) / static_cast<size_t>(stride));
  return true;
}

// Checks a state array passed to a constructor; holds it.
bool TakeState(Napi::Env env, napi_value value, int32_t stride, Napi::Reference<Napi::Int32Array>* ref) {
  Span s;
  if (!GetTyped(env, value, napi_int32_array, "state", &s)) return false;
  const size_t units = s.length >= kMetaSlots ? (s.length - kMetaSlots) / static_cast<size_t>(stride) : 0;
  if (units < 1 || units > kMaxUnitsLimit) {
    Napi::RangeError::New(env, "state must hold 3 meta slots and 1..2^20 units").ThrowAsJavaScriptException();
    return false;
  }
  *ref = Napi::Persistent(Napi::Int32Array(env, value));
  return true;
}

// Copies the core's carry into the JS carry buffer when it fits; reports its size either way.
void PublishCarry(Napi::Env env, const Napi::Reference<Napi::Uint8Array>& carry_ref, const uint8_t* carry,
                  size_t carry_size, int32_t* meta) {
  meta[kMetaCarrySize] = static_cast<int32_t>(carry_size);
  if (carry_size == 0) return;
  Span dst;
  if (!GetTyped(env, carry_ref.Value(), napi_uint8_array, "carry", &dst)) return;
  if (dst.length >= carry_size) std::memcpy(dst.data, carry, carry_size);
}

// A parser feed's checked arguments: the span input[offset, offset + length) and the state
// array's meta slots, followed by room for max_units units.
struct FeedArgs {
  Span in;
  size_t offset = 0;
  int32_t* meta = nullptr;
  int32_t max_units = 0;

  int32_t* units() const { return meta + kMetaSlots; }
};

// input, offset, length at info[first..first+2] and the parser state held by `state`; false with
// an exception thrown.
bool GetFeed(const Napi::CallbackInfo& info, size_t first, const Napi::Reference<Napi::Int32Array>& state,
             int32_t stride, FeedArgs* args) {
  return GetInput(info, first, &args->in, &args->offset) &&
         GetState(info.Env(), state, stride, &args->meta, &args->max_units);
}

// After a parser's Feed produced `count` units: shifts their offsets by the feed offset so they
// index the JS input (an InCarry unit's offset indexes the carry and stays), publishes consumed,
// error and the carry, and returns count. kFlagsSlot and kOffsetSlot locate a unit's flags and
// offset within its kStride slots.
template <int32_t kStride, size_t kFlagsSlot, size_t kOffsetSlot, typename Core>
Napi::Value FinishFeed(Napi::Env env, const Core& core, int32_t count, const FeedArgs& args,
                       const Napi::Reference<Napi::Uint8Array>& carry_ref) {
  int32_t* units = args.units();
  for (int32_t i = 0; i < count && args.offset != 0; ++i) {
    int32_t* u = units + static_cast<size_t>(i) * kStride;
    if ((u[kFlagsSlot] & kFlagInCarry) == 0) u[kOffsetSlot] += static_cast<int32_t>(args.offset);
  }
  args.meta[kMetaConsumed] = static_cast<int32_t>(core.consumed());
  args.meta[kMetaError] = static_cast<int32_t>(core.error());
  PublishCarry(env, carry_ref, core.carry_data(), core.carry_size(), args.meta);
  return Napi::Number::New(env, count);
}

// copyCarry(buffer): take a larger carry buffer and copy the last carry into it.
template <typename Core>
Napi::Value CopyCarry(const Napi::CallbackInfo& info, Core* core, Napi::Reference<Napi::Uint8Array>* carry_ref) {
  Napi::Env env = info.Env();
  Span dst;
  if (!GetTyped(env, info[0], napi_uint8_array, "carry", &dst)) return env.Undefined();
  if (dst.length < core->carry_size()) {
    Napi::RangeError::New(env, "carry buffer smaller than the carry").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  *carry_ref = Napi::Persistent(Napi::Uint8Array(env, info[0]));
  if (core->carry_size() != 0) std::memcpy(dst.data, core->carry_data(), core->carry_size());
  return env.Undefined();
}

bool NotConstructed(Napi::Env env, const void* core) {
  if (core != nullptr) return false;
  Napi::Error::New(env, "gamewire addon object was not constructed").ThrowAsJavaScriptException();
  return true;
}

// ---------------------------------------------------------------------------------------------
// What the three parser wrappers share: the core, the state array and the JS carry buffer they
// hold, and reset() / copyCarry(). Each wrapper has its own constructor and feed(); Define lists
// the shared methods it exposes (rare calls, so the runtime InstanceMethod form is fine).

template <typename Wrap, typename Core>
class ParserWrap : public Napi::ObjectWrap<Wrap> {
 protected:
  explicit ParserWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Wrap>(info) {}

  // reset()
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    if (!NotConstructed(info.Env(), core_.get())) core_->Reset();
    return info.Env().Undefined();
  }

  // copyCarry(buffer)
  Napi::Value CopyCarryTo(const Napi::CallbackInfo& info) {
    if (NotConstructed(info.Env(), core_.get())) return info.Env().Undefined();
    return CopyCarry(info, core_.get(), &carry_);
  }

  std::unique_ptr<Core> core_;
  Napi::Reference<Napi::Int32Array> state_;
  Napi::Reference<Napi::Uint8Array> carry_;
};

// ---------------------------------------------------------------------------------------------
// JointParser(direction, state, carry)

class JointParserWrap : public ParserWrap<JointParserWrap, JointParser> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "JointParser",
                       {InstanceMethod<&JointParserWrap::Feed>("feed"), InstanceMethod("reset", &JointParserWrap::Reset)});
  }

  explicit JointParserWrap(const Napi::CallbackInfo& info) : ParserWrap(info) {
    Napi::Env env = info.Env();
    size_t direction = 0;
    Span carry;
    if (!GetIndex(env, info[0], kJointToClient, "direction", &direction) ||
        !TakeState(env, info[1], kJointUnitStride, &state_) ||
        !GetTyped(env, info[2], napi_uint8_array, "carry", &carry)) {
      return;
    }
    if (carry.length < kJointMaxPayloadBytes) {
      Napi::RangeError::New(env, "carry must hold 255 bytes").ThrowAsJavaScriptException();
      return;
    }
    carry_ = Napi::Persistent(Napi::Uint8Array(env, info[2]));
    core_ = std::make_unique<JointParser>(static_cast<int32_t>(direction));
  }

 private:
  // feed(input, offset, length) -> units written
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    FeedArgs a;
    if (!GetFeed(info, 0, state_, kJointUnitStride, &a)) return env.Undefined();
    // Offsets are int32 in the result array, as in the twin's MAX_FEED_END.
    const size_t room = a.offset < INT32_MAX ? INT32_MAX - a.offset : 0;
    const int32_t count = core_->Feed(a.in.data, a.in.length < room ? a.in.length : room, a.units(), a.max_units);
    // Units are [kind, flags, a, b, offset, length].
    return FinishFeed<kJointUnitStride, 1, 4>(env, *core_, count, a, carry_);
  }
};

// ---------------------------------------------------------------------------------------------
// FrameDecoder(maxFrameBytes, state, carry)

class FrameDecoderWrap : public ParserWrap<FrameDecoderWrap, FrameDecoder> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FrameDecoder",
                       {InstanceMethod<&FrameDecoderWrap::Feed>("feed"), InstanceMethod("reset", &FrameDecoderWrap::Reset),
                        InstanceMethod("copyCarry", &FrameDecoderWrap::CopyCarryTo)});
  }

  explicit FrameDecoderWrap(const Napi::CallbackInfo& info) : ParserWrap(info) {
    Napi::Env env = info.Env();
    size_t max_frame_bytes = 0;
    Span carry;
    if (!GetIndex(env, info[0], UINT32_MAX, "maxFrameBytes", &max_frame_bytes) ||
        !TakeState(env, info[1], kFrameUnitStride, &state_) ||
        !GetTyped(env, info[2], napi_uint8_array, "carry", &carry)) {
      return;
    }
    if (max_frame_bytes < 1) {
      Napi::RangeError::New(env, "maxFrameBytes must be at least 1").ThrowAsJavaScriptException();
      return;
    }
    carry_ = Napi::Persistent(Napi::Uint8Array(env, info[2]));
    core_ = std::make_unique<FrameDecoder>(static_cast<uint32_t>(max_frame_bytes));
  }

 private:
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    FeedArgs a;
    if (!GetFeed(info, 0, state_, kFrameUnitStride, &a)) return env.Undefined();
    const int32_t count = core_->Feed(a.in.data, a.in.length, a.units(), a.max_units);
    // Units are [flags, offset, length].
    return FinishFeed<kFrameUnitStride, 0, 1>(env, *core_, count, a, carry_);
  }
};

// ---------------------------------------------------------------------------------------------
// ChunkAssembler(maxChunkBytes, prefixBytes, maxStreams, state, carry)

class ChunkAssemblerWrap : public ParserWrap<ChunkAssemblerWrap, ChunkAssembler> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ChunkAssembler",
                       {InstanceMethod<&ChunkAssemblerWrap::Feed>("feed"),
                        InstanceMethod<&ChunkAssemblerWrap::DropStream>("dropStream"),
                        InstanceMethod("copyCarry", &ChunkAssemblerWrap::CopyCarryTo)});
  }

  explicit ChunkAssemblerWrap(const Napi::CallbackInfo& info) : ParserWrap(info) {
    Napi::Env env = info.Env();
    size_t max_chunk_bytes = 0;
    size_t prefix_bytes = 0;
    size_t max_streams = 0;
    Span carry;
    if (!GetIndex(env, info[0], kMaxChunkBytesLimit, "maxChunkBytes", &max_chunk_bytes) ||
        !GetIndex(env, info[1], kMaxVarintBytes, "prefixBytes", &prefix_bytes) ||
        !GetIndex(env, info[2], kMaxUnitsLimit, "maxStreams", &max_streams) ||
        !TakeState(env, info[3], kChunkUnitStride, &state_) ||
        !GetTyped(env, info[4], napi_uint8_array, "carry", &carry)) {
      return;
    }
    const int32_t n = static_cast<int32_t>(prefix_bytes);
    if (n < kMinVarintBytes || max_streams < 1 || max_chunk_bytes < 1 ||
        max_chunk_bytes > static_cast<size_t>(VarintMax(n)) + 1) {
      Napi::RangeError::New(env, "chunk assembler options out of range").ThrowAsJavaScriptException();
      return;
    }
    carry_ = Napi::Persistent(Napi::Uint8Array(env, info[4]));
    core_ = std::make_unique<ChunkAssembler>(static_cast<uint32_t>(max_chunk_bytes), n,
                                             static_cast<int32_t>(max_streams));
  }

 private:
  // feed(stream, input, offset, length) -> units written
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    size_t stream = 0;
    FeedArgs a;
    if (!GetStream(info, &stream) || !GetFeed(info, 1, state_, kChunkUnitStride, &a)) return env.Undefined();
    const int32_t count = core_->Feed(static_cast<int32_t>(stream), a.in.data, a.in.length, a.units(), a.max_units);
    // Units are [flags, offset, length].
    return FinishFeed<kChunkUnitStride, 0, 1>(env, *core_, count, a, carry_);
  }

  Napi::Value DropStream(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    size_t stream = 0;
    if (!NotConstructed(env, core_.get()) && GetStream(info, &stream)) core_->DropStream(static_cast<int32_t>(stream));
    return env.Undefined();
  }

  bool GetStream(const Napi::CallbackInfo& info, size_t* stream) {
    return GetIndex(info.Env(), info[0], static_cast<size_t>(core_->max_streams()) - 1, "stream", stream);
  }
};

// ---------------------------------------------------------------------------------------------
// Aead(key, noncePrefix, startCounter)

class AeadWrap : public Napi::ObjectWrap<AeadWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Aead",
                       {InstanceMethod<&AeadWrap::Seal>("seal"), InstanceMethod<&AeadWrap::Open>("open"),
                        InstanceMethod<&AeadWrap::SealBatch>("sealBatch"),
                        InstanceMethod<&AeadWrap::OpenBatch>("openBatch"),
                        InstanceAccessor<&AeadWrap::Counter>("counter")});
  }

  explicit AeadWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AeadWrap>(info) {
    Napi::Env env = info.Env();
    Span key;
    Span prefix;
    size_t start = 0;
    if (!GetTyped(env, info[0], napi_uint8_array, "key", &key) ||
        !GetTyped(env, info[1], napi_uint8_array, "noncePrefix", &prefix) ||
        !GetIndex(env, info[2], static_cast<size_t>(Aead::kMaxCounter), "startCounter", &start)) {
      return;
    }
    if ((key.length != 16 && key.length != 32) || prefix.length != Aead::kNoncePrefixBytes) {
      Napi::RangeError::New(env, "key must be 16 or 32 bytes and noncePrefix 4").ThrowAsJavaScriptException();
      return;
    }
    auto core = std::make_unique<Aead>();
    if (core->Init(key.data, key.length, prefix.data, start) != Status::kOk) {
      Napi::Error::New(env, "OpenSSL refused the AES-GCM key").ThrowAsJavaScriptException();
      return;
    }
    core_ = std::move(core);
  }

 private:
  // seal(input, inOffset, inLength, output, outOffset) -> bytes written or -status
  Napi::Value Seal(const Napi::CallbackInfo& info) { return One(info, true); }
  Napi::Value Open(const Napi::CallbackInfo& info) { return One(info, false); }

  Napi::Value One(const Napi::CallbackInfo& info, bool sealing) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    Span in;
    size_t in_offset = 0;
    Span out;
    size_t out_offset = 0;
    if (!GetInput(info, 0, &in, &in_offset) || !GetTyped(env, info[3], napi_uint8_array, "output", &out) ||
        !GetIndex(env, info[4], out.length, "outOffset", &out_offset)) {
      return env.Undefined();
    }
    const size_t need = sealing ? in.length + Aead::kTagBytes
                                : (in.length > Aead::kTagBytes ? in.length - Aead::kTagBytes : 0);
    if (need > out.length - out_offset) {
      Napi::RangeError::New(env, "output span exceeds its buffer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (sealing && in.length > static_cast<size_t>(INT32_MAX) - Aead::kTagBytes) {
      Napi::RangeError::New(env, "input too long for one packet").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint8_t* dst = out.data + out_offset;
    const size_t cap = out.length - out_offset;
    const int64_t r = sealing ? core_->Seal(in.data, in.length, dst, cap) : core_->Open(in.data, in.length, dst, cap);
    return Napi::Number::New(env, static_cast<double>(r));
  }

  Napi::Value SealBatch(const Napi::CallbackInfo& info) { return Batch(info, true); }
  Napi::Value OpenBatch(const Napi::CallbackInfo& info) { return Batch(info, false); }

  // sealBatch/openBatch(input, output, jobs, count) -> jobs done
  Napi::Value Batch(const Napi::CallbackInfo& info, bool sealing) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    Span in;
    Span out;
    Span jobs;
    size_t count = 0;
    if (!GetTyped(env, info[0], napi_uint8_array, "input", &in) ||
        !GetTyped(env, info[1], napi_uint8_array, "output", &out) ||
        !GetTyped(env, info[2], napi_int32_array, "jobs", &jobs) ||
        !GetIndex(env, info[3], jobs.length / Aead::kJobStride, "count", &count)) {
      return env.Undefined();
    }
    int32_t* job_slots = reinterpret_cast<int32_t*>(jobs.data);
    const int32_t n = static_cast<int32_t>(count);
    const int32_t bad = Aead::FirstBadJob(in.length, out.length, job_slots, n, sealing);
    if (bad >= 0) {
      Napi::RangeError::New(env, "job " + std::to_string(bad) + " span lies outside its buffer")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int32_t done = sealing ? core_->SealBatch(in.data, in.length, out.data, out.length, job_slots, n)
                                 : core_->OpenBatch(in.data, in.length, out.data, out.length, job_slots, n);
    return Napi::Number::New(env, done);
  }

  Napi::Value Counter(const Napi::CallbackInfo& info) {
    if (NotConstructed(info.Env(), core_.get())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), static_cast<double>(core_->counter()));
  }

  std::unique_ptr<Aead> core_;
};

// ---------------------------------------------------------------------------------------------
// EventRing(capacity, arena, polled, meta)

class EventRingWrap : public Napi::ObjectWrap<EventRingWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EventRing",
                       {InstanceMethod<&EventRingWrap::Push>("push"), InstanceMethod<&EventRingWrap::PushBatch>("pushBatch"),
                        InstanceMethod<&EventRingWrap::Poll>("poll")});
  }

  explicit EventRingWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventRingWrap>(info) {
    Napi::Env env = info.Env();
    size_t capacity = 0;
    Span arena;
    Span polled;
    Span meta;
    if (!GetIndex(env, info[0], INT32_MAX, "capacity", &capacity) ||
        !GetTyped(env, info[1], napi_uint8_array, "arena", &arena) ||
        !GetTyped(env, info[2], napi_float64_array, "polled", &polled) ||
        !GetTyped(env, info[3], napi_float64_array, "meta", &meta)) {
      return;
    }
    if (capacity < 1 || polled.length / EventRing::kEntryStride < capacity || meta.length < kRingMetaSlots) {
      Napi::RangeError::New(env, "capacity must be >= 1 and polled hold capacity entries").ThrowAsJavaScriptException();
      return;
    }
    arena_ = Napi::Persistent(Napi::Uint8Array(env, info[1]));
    polled_ = Napi::Persistent(Napi::Float64Array(env, info[2]));
    meta_ = Napi::Persistent(Napi::Float64Array(env, info[3]));
    capacity_ = capacity;
    arena_bytes_ = arena.length;
    core_ = std::make_unique<EventRing>(static_cast<uint32_t>(capacity), arena.length);
  }

 private:
  // push(kind, peer, timestamp, payload, offset, length) -> dropped or -status
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    int32_t kind = 0;
    double peer = 0;
    double timestamp = 0;
    Span payload;
    size_t offset = 0;
    uint8_t* arena = nullptr;
    if (!GetKind(env, info[0], &kind) || napi_get_value_double(env, info[1], &peer) != napi_ok ||
        napi_get_value_double(env, info[2], &timestamp) != napi_ok || !GetInput(info, 3, &payload, &offset) ||
        !GetArena(env, &arena)) {
      if (!env.IsExceptionPending()) Napi::TypeError::New(env, "peer and timestamp must be numbers").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int64_t r = core_->Push(kind, peer, timestamp, payload.data, payload.length, arena);
    Publish(env);
    return Napi::Number::New(env, static_cast<double>(r));
  }

  // pushBatch(meta, count, payloads) -> dropped or -status
  Napi::Value PushBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    Span meta;
    size_t count = 0;
    Span payloads;
    uint8_t* arena = nullptr;
    if (!GetTyped(env, info[0], napi_float64_array, "meta", &meta) ||
        !GetIndex(env, info[1], meta.length / EventRing::kEntryStride, "count", &count) ||
        !GetTyped(env, info[2], napi_uint8_array, "payloads", &payloads) || !GetArena(env, &arena)) {
      return env.Undefined();
    }
    const int64_t r = core_->PushBatch(reinterpret_cast<const double*>(meta.data), static_cast<int32_t>(count),
                                       payloads.data, payloads.length, arena);
    Publish(env);
    return Napi::Number::New(env, static_cast<double>(r));
  }

  // poll() -> entries written to polled
  Napi::Value Poll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (NotConstructed(env, core_.get())) return env.Undefined();
    Span polled;
    if (!GetTyped(env, polled_.Value(), napi_float64_array, "polled", &polled)) return env.Undefined();
    if (polled.length / EventRing::kEntryStride < capacity_) {
      Napi::TypeError::New(env, "polled array was detached").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int32_t n = core_->Poll(reinterpret_cast<double*>(polled.data));
    Publish(env);
    return Napi::Number::New(env, n);
  }

  static bool GetKind(Napi::Env env, napi_value value, int32_t* kind) {
    double d = 0;
    if (napi_get_value_double(env, value, &d) != napi_ok || !(d >= INT32_MIN && d <= INT32_MAX) || d != std::floor(d)) {
      Napi::RangeError::New(env, "kind must be an int32").ThrowAsJavaScriptException();
      return false;
    }
    *kind = static_cast<int32_t>(d);
    return true;
  }

  bool GetArena(Napi::Env env, uint8_t** arena) {
    Span a;
    if (!GetTyped(env, arena_.Value(), napi_uint8_array, "arena", &a)) return false;
    if (a.length != arena_bytes_) {
      Napi::TypeError::New(env, "arena was detached").ThrowAsJavaScriptException();
      return false;
    }
    *arena = a.data;
    return true;
  }

  void Publish(Napi::Env env) {
    Span meta;
    if (!GetTyped(env, meta_.Value(), napi_float64_array, "meta", &meta) || meta.length < kRingMetaSlots) return;
    double* m = reinterpret_cast<double*>(meta.data);
    m[0] = core_->size();
    m[1] = core_->dropped();
  }

  std::unique_ptr<EventRing> core_;
  Napi::Reference<Napi::Uint8Array> arena_;
  Napi::Reference<Napi::Float64Array> polled_;
  Napi::Reference<Napi::Float64Array> meta_;
  size_t capacity_ = 0;
  size_t arena_bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------

Napi::Object StatusCodes(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* name, Status s) { o.Set(name, Napi::Number::New(env, static_cast<int32_t>(s))); };
  set("Ok", Status::kOk);
  set("FrameTooLarge", Status::kFrameTooLarge);
  set("FrameEmpty", Status::kFrameEmpty);
  set("JointBadLeadByte", Status::kJointBadLeadByte);
  set("JointBadFrameSize", Status::kJointBadFrameSize);
  set("JointUnknownCommand", Status::kJointUnknownCommand);
  set("JointBadCommandLength", Status::kJointBadCommandLength);
  set("JointBadBroadcastMode", Status::kJointBadBroadcastMode);
  set("JointBadBroadcastFrame", Status::kJointBadBroadcastFrame);
  set("ChunkTooLarge", Status::kChunkTooLarge);
  set("VarintNonMinimal", Status::kVarintNonMinimal);
  set("AuthFailed", Status::kAuthFailed);
  set("CounterExhausted", Status::kCounterExhausted);
  set("RingPayloadTooLarge", Status::kRingPayloadTooLarge);
  return o;
}

// Format facts and strides, named as in src/core (types.ts, limits.ts); a test compares them.
Napi::Object Constants(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* name, double v) { o.Set(name, Napi::Number::New(env, v)); };
  set("META_SLOTS", kMetaSlots);
  set("JOINT_UNIT_STRIDE", kJointUnitStride);
  set("FRAME_UNIT_STRIDE", kFrameUnitStride);
  set("CHUNK_UNIT_STRIDE", kChunkUnitStride);
  set("AEAD_JOB_STRIDE", Aead::kJobStride);
  set("RING_ENTRY_STRIDE", EventRing::kEntryStride);
  set("FRAME_PREFIX_BYTES", kFramePrefixBytes);
  set("AEAD_TAG_BYTES", Aead::kTagBytes);
  set("AEAD_NONCE_BYTES", Aead::kNonceBytes);
  set("AEAD_NONCE_PREFIX_BYTES", Aead::kNoncePrefixBytes);
  set("AEAD_MAX_COUNTER", static_cast<double>(Aead::kMaxCounter));
  set("MAX_CHUNK_BYTES_LIMIT", kMaxChunkBytesLimit);
  set("VARINT_MIN_BYTES", kMinVarintBytes);
  set("VARINT_MAX_BYTES", kMaxVarintBytes);
  set("JOINT_MAX_PAYLOAD_BYTES", kJointMaxPayloadBytes);
  set("FLAG_FRAME_START", kFlagFrameStart);
  set("FLAG_FRAME_END", kFlagFrameEnd);
  set("FLAG_IN_CARRY", kFlagInCarry);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sourceHash", Napi::String::New(env, GAMEWIRE_SOURCE_HASH));
  exports.Set("constants", Constants(env));
  exports.Set("statusCodes", StatusCodes(env));
  exports.Set("JointParser", JointParserWrap::Define(env));
  exports.Set("FrameDecoder", FrameDecoderWrap::Define(env));
  exports.Set("ChunkAssembler", ChunkAssemblerWrap::Define(env));
  exports.Set("Aead", AeadWrap::Define(env));
  exports.Set("EventRing", EventRingWrap::Define(env));
#ifdef __linux__
  exports.Set("RelayEngine", DefineRelayEngine(env));
#endif
  RegisterWsCodecTest(env, exports);
  RegisterSanitizerHeap(env, exports);
  return exports;
}

}  // namespace
}  // namespace gamewire

static Napi::Object InitGamewire(Napi::Env env, Napi::Object exports) { return gamewire::Init(env, exports); }

NODE_API_MODULE(gamewire, InitGamewire)
