// One peer of the native engine: its socket, its JointParser, its held input, its outbound
// backlog, its budgets and timers, and its half of the routing table (engine.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "../joint-parser.h"
#include "outbound.h"
#include "small-table.h"
#include "token-bucket.h"

#include "../ws-frame.h"
#include "../ws-handshake.h"

namespace gamewire {
namespace engine {

// Why a connection is not read now (bits of Connection::paused_by); it is read while none holds.
enum PauseCause : uint32_t {
  kPauseNotAdmitted = 1,   // ACCEPTed, waiting for admit()
  kPauseCommand = 2,       // a COMMAND event waits for resume()
  kPauseThrottle = 4,      // past its inbound rate (inboundPolicy throttle)
  kPauseBackpressure = 8,  // a destination it feeds is past outboundHighWaterBytes
  kPauseRemote = 16,       // REMOTE bytes in flight to JavaScript are past kMaxRemoteBytes
  kPauseJs = 32,           // pause() from JavaScript (cluster link backpressure), until unpause()
};

// The connection id of the far end of a route that crosses nodes (a remote owner or user): the
// engine hands that route's pieces to JavaScript as REMOTE records instead of writing them.
constexpr uint32_t kRemote = 0;

enum class Phase : uint8_t {
  kPending,    // accepted, waiting for the first byte (login timeout runs)
  kUpgrading,  // began with `G`: in the WebSocket handshake (login timeout runs)
  kOpen,     // ACCEPTed: JavaScript knows it
  kClosing,  // close() from JavaScript: flushing its backlog, then its socket closes
};

// user side: entered jIn (key) -> (owner, jOwn, userNr).
struct InRoute {
  uint16_t key = 0;  // jIn
  uint8_t j_own = 0;
  uint8_t user_nr = 0;
  uint32_t owner = 0;  // connection id
};

// owner side: one member of an own joint.
struct Member {
  uint16_t key = 0;  // userNr
  uint8_t j_in = 0;
  uint32_t user = 0;  // connection id
  uint32_t seq = 0;   // the engine's enter sequence when it entered (frame-sequence rule)
};

struct OwnJoint {
  bool owned = false;
  SmallTable<Member, 256> members;  // by userNr; broadcast walks them
};

struct OwnEntry {
  uint16_t key = 0;  // jOwn
  std::unique_ptr<OwnJoint> joint;
};

struct Connection {
  uint32_t id = 0;  // generation << kSlotBits | slot
  int fd = -1;
  Phase phase = Phase::kPending;
  bool in_use = false;
  bool is_websocket = false;
  uint32_t paused_by = 0;
  uint32_t epoll_mask = 0;  // events registered now
  std::unique_ptr<JointParser> parser;
  std::vector<uint8_t> held;  // input read but not parsed yet (before admit, or after a COMMAND)
  Backlog backlog;
  bool dirty = false;  // in the engine's dirty list
  bool fed = false;    // user data was queued to it during this loop turn (slow_reader rule)
  uint32_t fed_by = 0;  // the source of the last (source, owner) pair pushed for it (Engine::fed_)
  TokenBucket bytes_bucket;
  TokenBucket units_bucket;
  int64_t accepted_ms = 0;
  int64_t last_receive_ms = 0;
  int64_t last_send_ms = 0;
  int64_t progress_ms = 0;
  int64_t throttle_until_ms = 0;
  int64_t close_deadline_ms = 0;
  bool keepalive_armed = false;
  bool unit_queued = false;  // a unit went into the backlog since the last flush (arms keepalive)
  bool write_shut = false;  // closing: our FIN is sent, input is drained until the peer's
  size_t unsent = 0;  // backlog bytes the last flush left (0: a new backlog starts the stall clock)
  uint32_t frame_seq = 0;  // enter sequence when the frame being received began
  // Backpressure: sources paused until this connection's backlog is at the low-water mark, and
  // how many congested destinations hold this one.
  std::unique_ptr<std::unordered_set<uint32_t>> waiters;
  uint32_t waiting_on = 0;
  bool feeds_remote = false;
  bool send_fed = false;   // send() queued bytes since the last flush (kEventBacklog)
  bool send_high = false;  // reported past the high-water mark, not yet drained  // it produced a REMOTE record (paused first when they pass the cap)
  // Routing: empty tables allocate nothing.
  SmallTable<InRoute, 128> entered;
  SmallTable<OwnEntry, 128> own;
  std::string remote_ip;
  int32_t remote_port = 0;
  // WebSocket (joint.md §9): the handshake while upgrading, then the frame decoder.
  std::unique_ptr<WsHandshake> handshake;
  std::unique_ptr<WsFrameDecoder> ws;
  // Control frames (ping, pong) in the current one-second window, for the flood limit.
  uint32_t control_frames = 0;
  int64_t control_window_ms = 0;
};

}  // namespace engine
}  // namespace gamewire
