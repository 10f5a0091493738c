// The engine's counters, in the order engine.stats(out) writes them (docs/native-engine.md;
// src/core/relay-engine-binding.ts RELAY_ENGINE_STATS mirrors the names, a test compares them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gamewire {
namespace engine {

// Why a connection closed: the CLOSED event's `a` (engine-spec.md), same order as the names below.
enum class Reason : int32_t {
  kPeerClosed = 0,
  kSocketError = 1,
  kProtocolError = 2,
  kRateLimit = 3,
  kSlowReader = 4,
  kStalled = 5,
  kIdle = 6,
  kShutdown = 7,
  kLoginTimeout = 8,
};
constexpr int32_t kReasonCount = 9;

enum Stat : int32_t {
  kStatConnections = 0,      // gauge: connections ACCEPTed and open
  kStatPending,              // gauge: sockets waiting for their first byte
  kStatAccepted,             // connections ACCEPTed to JavaScript
  kStatRefusedPending,       // sockets closed at accept: kMaxPendingConnections reached
  kStatLoginTimeouts,        // sockets closed before their first byte (loginTimeoutMs)
  kStatWebSocketRefused,     // upgrade requests refused with an HTTP error (a bad request)
  kStatPendingUpgrades,      // gauge: of the pending sockets, those in a WebSocket handshake
  kStatBytesIn,
  kStatBytesOut,
  kStatFramesIn,             // data frames completed and commands received
  kStatFramesOut,            // frames and control messages queued to peers
  kStatDrops,                // data pieces whose routing did not resolve (joint.md §2.3)
  kStatThrottled,            // times a connection was paused for its inbound rate
  kStatBackpressured,        // times a sender was paused for a congested destination
  kStatBackpressuredNow,     // gauge
  kStatBacklogBytes,         // gauge: bytes queued toward peers, not yet taken by the kernel
  kStatCommands,             // COMMAND events
  kStatEventBatches,         // batches handed to JavaScript (one call each)
  kStatLoopTurns,            // epoll turns of the I/O thread
  kStatRemotePieces,         // data pieces handed to JavaScript for other nodes (REMOTE records)
  kStatRemoteBytes,          // their data bytes
  kStatRemotePaused,         // times a source was paused because the REMOTE bytes in flight passed kMaxRemoteBytes
  kStatBatchWaits,           // busy turns after which the I/O thread waited batchDelayUs (WaitToBatch)
  kStatDisconnects,          // kReasonCount slots from here: closes by Reason
  kStatCount = kStatDisconnects + kReasonCount,
};

// Names for the binding's `statsNames` (camelCase, as src/relay/stats.ts where they match).
constexpr const char* kStatNames[kStatCount] = {
    "connections", "pendingConnections", "accepted", "refusedPending", "loginTimeouts",
    "webSocketRefused", "pendingUpgrades", "bytesIn", "bytesOut", "framesIn", "framesOut", "drops", "throttled",
    "backpressured", "backpressuredNow", "backlogBytes", "commands", "eventBatches", "loopTurns",
    "remotePieces", "remoteBytes", "remotePaused", "batchWaits",
    "peer_closed", "socket_error", "protocol_error", "rate_limit", "slow_reader", "stalled", "idle",
    "shutdown", "login_timeout",
};

}  // namespace engine
}  // namespace gamewire
