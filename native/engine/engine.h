// The native relay engine (issue 19): the relay's data plane in C++ on its own I/O thread.
//
// Threads: JavaScript calls the public methods below on its thread; each call is queued under a
// mutex and the I/O thread (epoll, Linux) applies the queue in order at the top of its next loop
// turn, woken by an eventfd. Everything else (sockets, parsers, routing table, backlogs, timers)
// belongs to the I/O thread alone. Events go the other way in batches, one EventSink::Deliver per
// loop turn that produced any (the binding turns that into one JavaScript call). Counters are
// published to atomics once per turn, so Stats() reads them from any thread without a lock.
//
// Plain C++17 and POSIX: no napi, no JavaScript types (STYLE.md §3); the binding is
// native/addon-engine.cc. The contract with the TypeScript control plane is docs/native-engine.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connection.h"
#include "engine-limits.h"
#include "engine-stats.h"
#include "outbound.h"

namespace gamewire {
namespace engine {

// Tunable limits, named as src/relay/options.ts (ResolvedRelayOptions); 0 = off where noted.
struct EngineConfig {
  bool websocket = true;
  int64_t max_websocket_payload_bytes = 65536;
  int64_t login_timeout_ms = 5000;   // accept -> first byte; 0 = none
  int64_t idle_timeout_ms = 0;       // inbound silence; 0 = never
  int64_t stall_timeout_ms = 30000;  // backlog without progress; 0 = never
  int64_t keepalive_ms = 5000;       // joint.md §7; 0 = off
  int64_t max_outbound_bytes = 16 * 1024 * 1024;  // 0 = no cap
  int64_t outbound_high_water_bytes = 512 * 1024;  // 0 = no backpressure
  int64_t outbound_low_water_bytes = 128 * 1024;
  double inbound_bytes_per_sec = 0;  // 0 = unlimited
  double inbound_units_per_sec = 0;  // 0 = unlimited
  double inbound_burst_seconds = 1;
  int32_t inbound_policy = 0;  // 0 throttle, 1 disconnect
  // A graceful close() (the relay's shutdown) flushes for at most this long (ms): closeGraceMs.
  int64_t close_grace_ms = kCloseGraceMs;
  // Events in flight to JavaScript past which accepting pauses (events); tests lower it.
  int64_t max_events_in_flight = kMaxEventsInFlight;
  // SO_REUSEPORT on the listening socket: the workers of `gamewire relay --workers` each listen on
  // the port, and the kernel spreads the connections among them.
  bool reuse_port = false;
  // After a busy turn (kBatchBusyBytes moved), wait this long (µs) before the next epoll_wait, or
  // until a call from JavaScript: interrupt moderation, fewer syscalls and wakeups per frame under
  // load for up to this much latency (docs/native-engine.md "Batching under load"). 0 = never wait.
  int64_t batch_delay_us = 0;
};

// Event types (the record's first slot).
constexpr int32_t kEventAccept = 1;
constexpr int32_t kEventCommand = 2;
constexpr int32_t kEventClosed = 3;
// A data piece for another node (cluster): [4, source conn, kind, j, nr, offset, length, flags],
// its bytes un-rewritten. kind TO_OWNER: j = the source's jIn, nr = the userNr its route was given;
// TO_USER: j = the source's jOwn, nr = the userNr; BROADCAST: j = jOwn, nr = excluded or -1.
// flags: the parser's (1 frame start, 2 frame end). In the batch in the order the engine met them
// among the other events, so a piece before a command is handled before it.
constexpr int32_t kEventRemote = 4;
constexpr int32_t kEventConnect = 5;
// [6, conn, 1 or 0]: what JavaScript queued to `conn` (send) left its backlog past
// outboundHighWaterBytes after a flush (1), or that backlog drained to outboundLowWaterBytes (0).
// Only at those crossings: the cluster's owner-side backpressure (PAUSE_JOINT) reads it.
constexpr int32_t kEventBacklog = 6;
constexpr int32_t kRemoteToOwner = 1;
constexpr int32_t kRemoteToUser = 2;
constexpr int32_t kRemoteBroadcast = 3;

// A batch of events: `count` records of kEventStride int32, their bytes in `bytes`.
struct EventBatch {
  std::vector<int32_t> records;
  std::vector<uint8_t> bytes;
  int32_t count = 0;
  int64_t remote_bytes = 0;  // data bytes of its REMOTE records (kMaxRemoteBytes)
};

// Receives the batches on the I/O thread; takes ownership of each.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Deliver(EventBatch* batch) = 0;
};

class Engine {
 public:
  explicit Engine(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // JavaScript thread. Bind and listen; returns the port, or -1 with *error = errno (or
  // kErrorNotFound when the host does not resolve).
  int Listen(const std::string& host, int port, int* error);
  static constexpr int kErrorNotFound = -1000;
  // Bind (SO_REUSEPORT, not listening) a socket that holds `host:port` for the engines of
  // `gamewire relay --workers`, which then listen on its port with `reuse_port`: the primary keeps
  // it, so the port stays theirs while workers come and go. Returns the fd (the caller closes it)
  // and sets *bound_port, or -1 with *error = errno (kErrorNotFound: the host does not resolve).
  static int ReservePort(const std::string& host, int port, int* bound_port, int* error);
  // Starts the I/O thread; false if already started, stopped, or not listening.
  bool Start(EventSink* sink);
  // Control calls (engine-spec.md), applied on the I/O thread in the order they were made.
  void Admit(uint32_t conn);
  void Resume(uint32_t conn);
  void Send(uint32_t conn, const uint8_t* data, size_t length);
  void Enter(uint32_t user, int32_t j_in, uint32_t owner, int32_t j_own, int32_t user_nr);
  void Leave(uint32_t user, int32_t j_in);
  // Removes member `user_nr` of `owner`'s joint `j_own`, local or remote (kRemote); idempotent.
  void LeaveMember(uint32_t owner, int32_t j_own, int32_t user_nr);
  // Stop / go on reading `conn` (a cause of its own, independent of the engine's backpressure).
  void Pause(uint32_t conn);
  void Unpause(uint32_t conn);
  void Own(uint32_t owner, int32_t j_own, bool owned);
  // graceful (the relay's shutdown): what is queued goes out first (WebSocket: then close 1000),
  // for at most close_grace_ms; otherwise closed at once, the backlog dropped (the Node engine's destroy()).
  void Close(uint32_t conn, int32_t reason, bool graceful);
  // Any thread: JavaScript has handled `count` events and `remote_bytes` REMOTE bytes of the
  // batches delivered (kMaxEventsInFlight, kMaxRemoteBytes); wakes the I/O thread when sources wait.
  void EventsDone(int64_t count, int64_t remote_bytes);
  // Counters (engine-stats.h order) into out[0, min(n, kStatCount)).
  void Stats(double* out, size_t n) const;
  // Closes every connection and the listener, joins the I/O thread. Idempotent.
  void Stop();
  bool running() const { return thread_.joinable(); }

  // Handover of a socket between engines (`relay --workers`, docs/native-engine.md "Handover").
  // JavaScript thread, while the I/O thread runs; each waits until the I/O thread has applied it,
  // after every call made before it. Detach gives up an open raw-TCP connection: *fd becomes the
  // caller's (out of the epoll set, never touched here again) and *held gets its input read and
  // not parsed. The engine forgets it (routes, pauses; counted as a peer_closed close), no CLOSED
  // event. False, nothing changed, when it is not open, is a WebSocket, has output queued or a
  // unit half parsed, is not stopped at a COMMAND or before admit, or has an event not delivered.
  bool Detach(uint32_t conn, int* fd, std::vector<uint8_t>* held);
  // Adopt takes `fd`, a connected non-blocking stream socket, as a new connection whose first
  // input is `bytes` (at most kMaxAdoptBytes): the caller admitted it, so no CONNECT; ACCEPT
  // follows its first bytes as for an accepted socket (at once when `bytes` is not empty).
  // Returns its id, with `fd` the engine's (closed when the connection ends); 0 when refused
  // (stopped, no slot), `fd` still the caller's.
  uint32_t Adopt(int fd, const uint8_t* bytes, size_t n, const std::string& ip, int32_t port);

 private:
  enum class CallKind : uint8_t { kAdmit, kResume, kSend, kEnter, kLeave, kLeaveMember, kOwn, kPause, kUnpause, kClose, kStop, kHandover };
  struct Call {
    CallKind kind;
    uint32_t conn;
    uint32_t other;
    int32_t a, b, c;
    std::vector<uint8_t> bytes;
  };
  void Post(Call call);

  // I/O thread.
  void Run();
  void ApplyCalls();
  void AcceptSockets();
  void OnEvent(uint32_t id, uint32_t events);
  void OnReadable(Connection& c);
  void OnFirstBytes(Connection& c, uint8_t* data, size_t n);
  void OpenConnection(Connection& c, bool websocket);
  // Ends a socket not yet ACCEPTed; a CLOSED event with `detail` unless detail is null.
  void DiscardPending(Connection& c, Reason reason, const char* detail);
  void OnUpgradeBytes(Connection& c, uint8_t* data, size_t n);
  void OnWebSocketBytes(Connection& c, uint8_t* data, size_t n);
  void WebSocketFail(Connection& c, uint16_t code, const char* reason);
  void ProcessInput(Connection& c, const uint8_t* data, size_t length);
  void ProcessHeld(Connection& c);
  void GiveBackParser(Connection& c);
  bool AdmitInbound(Connection& c, TokenBucket& bucket, double n, const char* what);
  void UserData(Connection& c, int32_t j_in, int32_t flags, const uint8_t* p, size_t n);
  void OwnerData(Connection& c, int32_t j_own, int32_t user_nr, int32_t flags, const uint8_t* p, size_t n);
  void Broadcast(Connection& c, int32_t j_own, int32_t excluded, int32_t flags, const uint8_t* p, size_t n);
  // The broadcast run (forwarding.ts): consecutive broadcast pieces of one input to one joint are
  // written once per jIn group and handed to the group's members at EndRun, which runs before any
  // other unit and at the end of every input.
  void StartRun(Connection& c, const OwnJoint& joint, int32_t excluded);
  void WriteRunGroup(size_t group, const uint8_t* p, size_t n);
  void EndRun();
  // A piece for another node: a REMOTE record in the batch (kMaxRemoteBytes).
  void EmitRemote(Connection& c, int32_t kind, int32_t j, int32_t nr, int32_t flags, const uint8_t* p, size_t n);
  // The REMOTE bytes in flight are under the cap again: read the sources paused for them.
  void ResumeRemote();
  void PauseForRemote(Connection& c);
  int64_t RemoteBytesPending() const {
    return remote_in_flight_.load(std::memory_order_seq_cst) + batch_->remote_bytes;
  }
  void ToOwner(Connection& owner, int32_t j_own, int32_t user_nr, const uint8_t* p, size_t n);
  void ToUser(Connection& user, int32_t j_in, const uint8_t* p, size_t n);
  // One unit (a frame, a control message, a send): one binary message for a WebSocket peer.
  void AppendUnit(Connection& c, const uint8_t* p, size_t n);
  // Bytes as they are (the handshake's response, WebSocket control frames).
  void AppendRaw(Connection& c, const uint8_t* p, size_t n);
  void MarkDirty(Connection& c);
  void FlushDirty();
  void FlushConnection(Connection& c);
  // Pauses every source of fed_ whose destination is past the high-water mark after the flush.
  void PressBack();
  void Release(Connection& dest);
  void SetPaused(Connection& c, uint32_t cause, bool on);
  void UpdateEpoll(Connection& c);
  // Closes `c` (CLOSED event); with flush_first its backlog goes out first (at most kCloseGraceMs).
  void Drop(Connection& c, Reason reason, const std::string& detail, bool flush_first = false);
  // A closing connection's backlog is out: send FIN, then drain its input until the peer's FIN.
  void ShutWrite(Connection& c);
  void FinishClose(Connection& c);
  void CloseFromJs(Connection& c, int32_t reason, bool graceful);
  void RemoveRoutes(Connection& c);
  void DoEnter(uint32_t user, int32_t j_in, uint32_t owner, int32_t j_own, int32_t user_nr);
  void DoLeave(Connection& user, int32_t j_in);
  void DoLeaveMember(Connection& owner, int32_t j_own, int32_t user_nr);
  void DoOwn(Connection& owner, int32_t j_own, bool owned);
  OwnJoint& JointOf(Connection& owner, int32_t j_own);
  OwnJoint* OwnJointOf(Connection& owner, int32_t j_own);
  void Sweep();
  void ExpireThrottles();
  int64_t NextTimeoutMs() const;
  void Emit(int32_t type, uint32_t conn, int32_t a, int32_t b, const uint8_t* bytes, size_t n);
  void DeliverBatch();
  void Publish();
  void WaitToBatch();
  void ShutdownAll();
  Connection* Get(uint32_t id);
  Connection* NewConnection();
  void FreeConnection(Connection& c);

  // A Detach or Adopt in flight: the caller's request, then the I/O thread's answer (under mutex_).
  struct Handover {
    bool adopt = false;
    bool done = false;
    uint32_t conn = 0;           // detach: the connection; adopt: the new one (0: refused)
    int fd = -1;                 // detach: out; adopt: in (-1 once the engine owns it)
    std::vector<uint8_t> bytes;  // detach: the held input, out; adopt: the first input, in
    std::string ip;
    int32_t port = 0;
  };
  Handover Hand(Handover request);
  void ApplyHandover(uint32_t ticket);
  void DoDetach(Handover& h);
  void DoAdopt(Handover& h);

  const EngineConfig config_;
  int64_t sweep_every_ms_ = kSweepMaxMs;

  // Shared with the JavaScript thread.
  std::mutex mutex_;
  std::vector<Call> calls_;
  int wake_fd_ = -1;
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<double> published_[kStatCount];
  EventSink* sink_ = nullptr;
  std::atomic<int64_t> events_in_flight_{0};
  std::atomic<int64_t> remote_in_flight_{0};
  std::atomic<bool> remote_waiting_{false};  // sources are paused for kMaxRemoteBytes

  // I/O thread only (the listener's fd is set by Listen before the thread starts).
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int64_t now_ = 0;
  int64_t next_sweep_ms_ = 0;
  // Bytes read plus bytes written when the last turn began: what the turn moved decides WaitToBatch.
  double moved_at_turn_ = 0;
  int64_t listen_backoff_until_ = 0;
  bool stopping_ = false;
  std::vector<Call> applying_;
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<uint16_t> generations_;
  std::deque<uint32_t> free_slots_;
  uint32_t pending_count_ = 0;
  uint32_t pending_upgrades_ = 0;
  uint32_t enter_seq_ = 0;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> dirty_swap_;
  // (source, owner) pairs of user data queued since the last PressBack (one loop turn, or a
  // resume's held input): the owners are flushed once for all their sources, then judged.
  struct Fed {
    uint32_t source;
    uint32_t owner;
  };
  std::vector<Fed> fed_;
  // The broadcast run in progress (owner 0: none).
  struct RunGroup {
    uint8_t j_in = 0;
    std::vector<uint32_t> members;
    std::vector<Segment> segs;  // the group's bytes, in chunks it holds a reference to
    size_t bytes = 0;
    uint32_t frames = 0;
  };
  struct BroadcastRun {
    uint32_t owner = 0;
    const OwnJoint* joint = nullptr;
    int32_t excluded = 0;
    uint32_t seq = 0;
    bool remote = false;
    struct Single {
      uint32_t user;
      uint8_t j_in;
    };
    std::vector<Single> singles;  // WebSocket members: a message per unit, written at once
    std::vector<RunGroup> groups;  // [0, group_count) in use
    size_t group_count = 0;
    int16_t group_of[kJointsPerConnection];  // jIn -> group, -1 none
  };
  BroadcastRun run_;
  std::vector<uint32_t> throttled_;
  std::vector<uint32_t> remote_paused_;  // sources paused for kMaxRemoteBytes
  ChunkPool pool_;
  std::vector<std::unique_ptr<JointParser>> spare_parsers_;
  std::unique_ptr<uint8_t[]> read_buf_;
  int32_t units_[kUnitsPerFeed * kJointUnitStride];
  std::unique_ptr<EventBatch> batch_;
  double counters_[kStatCount] = {};

  // Handovers: requests by ticket (mutex_), answered through handed_.
  std::condition_variable handed_;
  std::unordered_map<uint32_t, Handover> handovers_;
  uint32_t next_ticket_ = 0;
};

}  // namespace engine
}  // namespace gamewire
