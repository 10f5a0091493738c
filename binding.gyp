# The gamewire addon: plain C++17 cores (native/<component>.cc) and one thin
# node-addon-api binding (native/addon.cc; the WebSocket codec's test-only face in
# native/addon-ws-test.cc). N-API 8, so one binary serves every Node >= 20.
# AES-GCM uses the OpenSSL headers of node-gyp's include dir and the EVP_* symbols the node
# binary exports: no extra library (TOOLCHAIN.md). -z now binds those symbols at require()
# time, so a runtime without them fails to load (and the loader falls back) instead of dying
# at the first call.
{
  "variables": {
    # 1: build with AddressSanitizer + UBSan (scripts/test-asan.sh passes -Dgamewire_sanitize=1).
    "gamewire_sanitize%": 0,
  },
  "targets": [
    {
      "target_name": "gamewire",
      "sources": [
        "native/addon.cc",
        "native/addon-ws-test.cc",
        "native/addon-sanitizer.cc",
        "native/aead.cc",
        "native/chunk-assembler.cc",
        "native/event-ring.cc",
        "native/frame-decoder.cc",
        "native/joint-parser.cc",
        "native/ws-frame.cc",
        "native/ws-handshake.cc",
        # The native relay engine (issue 19, docs/native-engine.md): Linux only (epoll); its
        # sources compile to nothing elsewhere, and the addon then has no RelayEngine.
        "native/addon-engine.cc",
        "native/engine/engine.cc",
        "native/engine/outbound.cc",
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        # The source stamp (scripts/source-hash.mjs): the loader refuses an addon whose stamp
        # differs from the sources beside it, so a stale prebuild is never used.
        "GAMEWIRE_SOURCE_HASH=\"<!(node scripts/source-hash.mjs .)\"",
      ],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_cc": ["-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-Wl,-z,now", "-Wl,-z,relro"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "OTHER_LDFLAGS": ["-Wl,-bind_at_load"],
      },
      "msvs_settings": {"VCCLCompilerTool": {"ExceptionHandling": 0, "AdditionalOptions": ["/std:c++17"]}},
      "conditions": [
        ["gamewire_sanitize==1", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags": ["-fsanitize=address,undefined"],
        }],
      ],
    },
  ],
}
