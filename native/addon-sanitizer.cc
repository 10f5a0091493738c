// `addon.sanitizerHeap()`: the AddressSanitizer allocator's own figures, for the soak (issue 19).
// Under ASan, RSS holds the sanitizer's shadow memory, its quarantine of freed chunks and its
// allocator's caches besides the live heap, so the soak (test/soak/soak.ts) samples the live
// heap here next to RSS and judges it instead (docs/soak.md). With the runtime preloaded
// (LD_PRELOAD=libasan.so), every malloc of the process goes through that allocator, node's own
// included; V8's heap (mmap) does not.
//
// In a build without AddressSanitizer (the normal one) it returns undefined and links to nothing.
#include <napi.h>

#if defined(__SANITIZE_ADDRESS__)
#define GAMEWIRE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GAMEWIRE_ASAN 1
#endif
#endif

#ifdef GAMEWIRE_ASAN
#include <cstddef>
// The sanitizer runtime's allocator interface (<sanitizer/allocator_interface.h>, which GCC's
// Debian packages do not ship; the functions are in every libasan).
extern "C" {
size_t __sanitizer_get_current_allocated_bytes();
size_t __sanitizer_get_heap_size();
size_t __sanitizer_get_free_bytes();
size_t __sanitizer_get_unmapped_bytes();
}
#endif

namespace gamewire {
namespace {

// undefined, or {allocated, heapSize, freeBytes, unmappedBytes} (bytes, as numbers):
//   allocated      bytes in chunks malloc'ed and not yet freed (the live heap)
//   heapSize       bytes the allocator has mapped (live + quarantine + free lists and caches)
//   freeBytes      bytes mapped by the allocator and not live (quarantine included)
//   unmappedBytes  bytes the allocator has given back to the system
Napi::Value SanitizerHeap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef GAMEWIRE_ASAN
  Napi::Object o = Napi::Object::New(env);
  o.Set("allocated", Napi::Number::New(env, static_cast<double>(__sanitizer_get_current_allocated_bytes())));
  o.Set("heapSize", Napi::Number::New(env, static_cast<double>(__sanitizer_get_heap_size())));
  o.Set("freeBytes", Napi::Number::New(env, static_cast<double>(__sanitizer_get_free_bytes())));
  o.Set("unmappedBytes", Napi::Number::New(env, static_cast<double>(__sanitizer_get_unmapped_bytes())));
  return o;
#else
  return env.Undefined();
#endif
}

}  // namespace

// Called once from native/addon.cc's Init.
void RegisterSanitizerHeap(Napi::Env env, Napi::Object exports) {
  exports.Set("sanitizerHeap", Napi::Function::New<SanitizerHeap>(env, "sanitizerHeap"));
}

}  // namespace gamewire
