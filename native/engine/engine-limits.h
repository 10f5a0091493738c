// Limits and format facts of the native relay engine (issue 19). Tunable limits come from
// TypeScript through EngineConfig (src/relay/options.ts names); these are the engine's own bounds,
// each with its unit, why that value, and what happens past it (STYLE.md §7, docs/native-engine.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gamewire {
namespace engine {

// joint.md §2.2: largest data frame size, routing header included.
constexpr int32_t kMaxFrameSize = 32767;
// joint.md §2.5: data bytes per frame toward an owner (size = jOwn + userNr + data).
constexpr int32_t kMaxOwnerFrameData = kMaxFrameSize - 2;
// Data bytes per frame toward a user (size = jIn + data), as src/relay/forwarding.ts.
constexpr int32_t kMaxUserFrameData = kMaxFrameSize - 1;
// joint.md §2.2: sizes below 128 take one byte; the rest two.
constexpr int32_t kMaxShortFrameSize = 127;
// Largest frame header the engine writes (2 size bytes).
constexpr size_t kMaxFrameHeaderBytes = 2;
// joint.md §1: jIn and jOwn are 0..127; userNr 0..255.
constexpr int32_t kJointsPerConnection = 128;
constexpr int32_t kUsersPerJoint = 256;
// Routing bytes >= 0x80 are jOwn + 128 (joint.md §2.3).
constexpr int32_t kOwnRoute = 0x80;
// joint.md §7: the keepalive event, `00 04 00 FF 00 00`.
constexpr uint8_t kKeepalive[] = {0x00, 0x04, 0x00, 0xFF, 0x00, 0x00};
// joint.md §9: a first byte `G` starts an HTTP upgrade.
constexpr uint8_t kHttpFirstByte = 0x47;

// Bytes read from a socket per read (bytes), 64 KiB: the Node relay's read size; also the most a
// held connection keeps unparsed (a connection stops being read while held), so held input per
// connection is bounded by it.
constexpr size_t kReadBytes = 64 * 1024;
// Units the JointParser hands out per feed (units): the result array lives on the engine, not per
// connection; 64 amortises the feed call over a read of small frames.
constexpr int32_t kUnitsPerFeed = 64;
// JointParsers kept for reuse (parsers), 64, as the Node relay's PARSER_SPARES_MAX: a connection
// whose input ends at a unit boundary gives its parser back, so an idle connection holds none and
// the next read of any connection takes a spare instead of allocating.
constexpr size_t kParserSparesMax = 64;
// Outbound chunk (bytes), 16 KiB: a destination's backlog is a list of chunks written with one
// writev; frames are appended into the tail chunk, so no allocation per frame.
constexpr size_t kOutChunkBytes = 16 * 1024;
// Chunks kept engine-wide for reuse (chunks), 256 (4 MiB): an idle connection holds none, a busy
// one takes a spare instead of allocating; past it a freed chunk goes back to the allocator.
constexpr size_t kSpareChunksMax = 256;
// A broadcast run's bytes for one jIn group (bytes), 4 KiB: a range of at least this many is
// shared by the group's members (a reference to one chunk each, no copy); a shorter one is copied
// into each member's backlog. A shared chunk holds only that run's bytes, all owed by every member
// that holds it, so a slow member pins at most kOutChunkBytes / kShareMinBytes (4) times what it
// owes, plus one chunk after a partial write of a shared head (maxOutboundBytes counts what it
// owes); copying short runs costs one memcpy per member.
constexpr size_t kShareMinBytes = 4 * 1024;
// iovecs per writev (iovecs): well under IOV_MAX (1024); a longer backlog takes more calls.
constexpr int kMaxIovecs = 64;
// Connections the engine holds at once, accepted or pending (connections), 2^16: the slot part
// of a connection id (the rest is a generation). Above the control plane's default maxConnections
// (10000) plus kMaxPendingConnections; past it a new socket is closed at accept.
constexpr uint32_t kSlotBits = 16;
constexpr uint32_t kMaxSlots = uint32_t{1} << kSlotBits;
// Generation bits of a connection id: ids stay positive int32, and a stale id (a closed
// connection's) never reaches the slot's next connection until 2^15 reuses of that slot; slots are
// reused first in, first out, so that takes 2^15 full turns of the free list (11 bits came round
// in about a second of reconnects on one slot: a lagging control plane's close could hit a new peer).
constexpr uint32_t kGenerationBits = 15;
// Connections accepted and not yet ACCEPTed to JavaScript (connections), 16384: they wait for
// their first byte (at most loginTimeoutMs each); the control plane's caps judge each at CONNECT
// (per IP, total), so this is only a backstop above the default maxConnections (10000): at 1024, a
// few dozen addresses holding silent sockets shut everyone out. Past it new sockets are closed at
// once (counted: refusedPending).
constexpr uint32_t kMaxPendingConnections = 16384;
// Events handed to JavaScript and not yet handled there (events), 65536 (about 3 MiB of batches):
// past it no socket is accepted (the kernel's listen backlog holds them, then refuses) until
// JavaScript catches up, so a connect/close storm while the JavaScript thread is busy cannot
// queue events without bound. Checked every kAcceptBackoffMs while over.
constexpr int64_t kMaxEventsInFlight = 65536;
// Data bytes of REMOTE records (cluster data for other nodes) handed to JavaScript and not yet
// handled there (bytes), 256 KiB: past it every connection that feeds other nodes is not read
// until JavaScript has handled half of them (then all are read again at once). A connection that
// never fed another node can add at most one read (kReadBytes) before it is paused too, so the
// bytes in flight stay below 256 KiB + one read per connection that reaches the cap. Small, of the
// order of the cluster link's high-water mark: what is in flight here reaches the link before its
// backpressure can pause the source (the owner node's PAUSE_JOINT and the link's own pause come
// only after JavaScript has handed the records over).
constexpr int64_t kMaxRemoteBytes = 256 * 1024;
// What a REMOTE record counts toward kMaxRemoteBytes besides its data (bytes), 32: its 8 int32
// slots, so that a flood of 1-byte pieces is bounded like one of large pieces.
constexpr int64_t kRemoteRecordCostBytes = 32;
// Sockets accepted per loop turn (sockets), 64: a connect storm cannot starve the reads.
constexpr int kAcceptsPerTurn = 64;
// After accept() fails for lack of descriptors (EMFILE/ENFILE), the listener is not polled for
// this long (ms), so a full descriptor table does not spin the I/O thread.
constexpr int64_t kAcceptBackoffMs = 100;
// epoll events handled per epoll_wait (events).
constexpr int kEpollEvents = 256;
// A loop turn that moved at least this many bytes (read plus taken by the kernel) is busy: with
// batchDelayUs set, the I/O thread waits that long before its next epoll_wait (Engine::Run), so
// the next turn's reads and writes carry more frames each. 4 KiB: about 60 frames of 64 B; a
// relay with a few game messages per turn never waits.
constexpr double kBatchBusyBytes = 4096;
// Largest batchDelayUs (µs), 10 ms: the wait delays every frame of a busy relay by up to that much.
constexpr int64_t kMaxBatchDelayUs = 10000;
// Longest interval of the sweep (ms), as the Node relay's KEEPALIVE_SWEEP_MAX_MS; shorter timers
// sweep at a quarter of their period.
constexpr int64_t kSweepMaxMs = 1000;
// A connection closed by close() with bytes still queued gets this long (ms) to take them before
// its socket is closed anyway (the Node relay's CLOSE_GRACE_MS).
constexpr int64_t kCloseGraceMs = 1000;
// Event record: 8 int32 `[type, conn, a, b, c, offset, length, 0]` (docs/native-engine.md).
constexpr int32_t kEventStride = 8;
// Largest detail text of a CLOSED event (bytes).
constexpr size_t kMaxDetailBytes = 120;
// WebSocket control frames (ping, pong) a connection may send per second (frames/s), 100, as the
// Node engine's WS_MAX_CONTROL_FRAMES_PER_SECOND: each ping costs a pong; past it the connection
// is closed with 1008 "control frame flood" (protocol_error).
constexpr uint32_t kWsMaxControlFramesPerSecond = 100;
// WebSocket decoder events per Feed (events).
constexpr int32_t kWsEventsPerFeed = 64;
// Largest first input of an adopted connection (bytes), 128 KiB: a handed-over connection brings
// at most its enter command and the rest of one read (kReadBytes); adopt() refuses more with a
// RangeError rather than hold an unbounded copy.
constexpr size_t kMaxAdoptBytes = 2 * kReadBytes;

}  // namespace engine
}  // namespace gamewire
