// The native relay engine (engine.h). Forwarding mirrors src/relay/forwarding.ts, backpressure
// src/relay/backpressure.ts, the read loop and sweep src/relay/relay.ts: read them side by side.
#ifdef __linux__
#include "engine.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gamewire {
namespace engine {

namespace {

// epoll tags of the two descriptors that are not connections (connection ids are below 2^31).
constexpr uint64_t kTagWake = uint64_t{1} << 40;
constexpr uint64_t kTagListen = (uint64_t{1} << 40) + 1;
constexpr uint32_t kSlotMask = kMaxSlots - 1;
constexpr uint16_t kMaxGeneration = (1u << kGenerationBits) - 1;
// listen(2) backlog: Node's default.
constexpr int kListenBacklog = 511;

// The local port a socket is bound to (IPv4 or IPv6).
int BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                    : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

// A TCP socket bound to the first address of `host:port` that works: SO_REUSEADDR and listening
// when `listener`, SO_REUSEPORT when `reuse_port`; `type_flags` are added to SOCK_STREAM |
// SOCK_CLOEXEC. Returns the fd, or -1 with *error = errno (Engine::kErrorNotFound: no address).
int BindTcp(const std::string& host, int port, int type_flags, bool listener, bool reuse_port, int* error) {
  *error = 0;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr) {
    *error = Engine::kErrorNotFound;
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | type_flags | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      *error = errno;
      continue;
    }
    const int one = 1;
    if (listener) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && (!listener || listen(fd, kListenBacklog) == 0)) break;
    *error = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd >= 0) *error = 0;
  return fd;
}

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// joint.md §2.2: 1-byte size below 128, else 15 bits big-endian with the top bit set.
inline size_t WriteSize(uint8_t* at, int32_t size) {
  if (size <= kMaxShortFrameSize) {
    at[0] = static_cast<uint8_t>(size);
    return 1;
  }
  at[0] = static_cast<uint8_t>((size >> 8) + 0x80);
  at[1] = static_cast<uint8_t>(size & 0xff);
  return 2;
}

// Room for the prefix of one unit: a WebSocket peer gets each unit as one binary message.
constexpr size_t kMaxUnitPrefixBytes = 10;

inline size_t UnitPrefix(const Connection& c, uint8_t* at, size_t unit_bytes) {
  static_assert(kMaxUnitPrefixBytes >= kWsMaxServerHeaderBytes, "room for a server frame header");
  if (c.ws) return WsEncodeBinaryHeader(at, unit_bytes);
  return 0;
}

const char* ParserErrorName(Status s) {
  switch (s) {
    case Status::kJointBadLeadByte: return "GW_ERR_JOINT_BAD_LEAD_BYTE";
    case Status::kJointBadFrameSize: return "GW_ERR_JOINT_BAD_FRAME_SIZE";
    case Status::kJointUnknownCommand: return "GW_ERR_JOINT_UNKNOWN_COMMAND";
    case Status::kJointBadCommandLength: return "GW_ERR_JOINT_BAD_COMMAND_LENGTH";
    case Status::kJointBadBroadcastMode: return "GW_ERR_JOINT_BAD_BROADCAST_MODE";
    case Status::kJointBadBroadcastFrame: return "GW_ERR_JOINT_BAD_BROADCAST_FRAME";
    default: return "GW_ERR_PROTOCOL";
  }
}

}  // namespace

Engine::Engine(const EngineConfig& config) : config_(config) {
  for (auto& p : published_) p.store(0, std::memory_order_relaxed);
  // One sweep serves every timer, as the Node relay's: a quarter of the shortest period, at most 1 s.
  int64_t shortest = kSweepMaxMs * 4;
  for (int64_t ms : {config_.keepalive_ms, config_.idle_timeout_ms, config_.stall_timeout_ms, config_.login_timeout_ms}) {
    if (ms > 0 && ms < shortest) shortest = ms;
  }
  sweep_every_ms_ = std::max<int64_t>(1, std::min<int64_t>(kSweepMaxMs, shortest / 4));
  read_buf_.reset(new uint8_t[kReadBytes]);
  batch_.reset(new EventBatch());
  for (auto& g : run_.group_of) g = -1;
}

Engine::~Engine() {
  Stop();
  if (listen_fd_ >= 0) close(listen_fd_);
}

// ---- JavaScript thread ------------------------------------------------------------------------

int Engine::Listen(const std::string& host, int port, int* error) {
  *error = 0;
  if (listen_fd_ >= 0 || started_) {
    *error = EISCONN;
    return -1;
  }
  const int fd = BindTcp(host, port, SOCK_NONBLOCK, true, config_.reuse_port, error);
  if (fd < 0) return -1;
  listen_fd_ = fd;
  return BoundPort(fd);
}

int Engine::ReservePort(const std::string& host, int port, int* bound_port, int* error) {
  // SO_REUSEPORT only: sockets that set it too (the workers' engines) may share the port; one
  // with SO_REUSEADDR alone (another server) may not, though this socket never listens.
  const int fd = BindTcp(host, port, 0, false, true, error);
  if (fd < 0) return -1;
  *bound_port = BoundPort(fd);
  return fd;
}

bool Engine::Start(EventSink* sink) {
  if (started_ || stopped_ || listen_fd_ < 0) return false;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) return false;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagWake;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  ev.data.u64 = kTagListen;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  sink_ = sink;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return true;
}

void Engine::Post(Call call) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    calls_.push_back(std::move(call));
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    // A full counter (never, at 2^64) or EAGAIN still leaves the eventfd readable: the wake holds.
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;
  }
}

void Engine::Admit(uint32_t conn) { Post(Call{CallKind::kAdmit, conn, 0, 0, 0, 0, {}}); }
void Engine::Resume(uint32_t conn) { Post(Call{CallKind::kResume, conn, 0, 0, 0, 0, {}}); }
void Engine::Send(uint32_t conn, const uint8_t* data, size_t length) {
  Post(Call{CallKind::kSend, conn, 0, 0, 0, 0, std::vector<uint8_t>(data, data + length)});
}
void Engine::Enter(uint32_t user, int32_t j_in, uint32_t owner, int32_t j_own, int32_t user_nr) {
  Post(Call{CallKind::kEnter, user, owner, j_in, j_own, user_nr, {}});
}
void Engine::Leave(uint32_t user, int32_t j_in) { Post(Call{CallKind::kLeave, user, 0, j_in, 0, 0, {}}); }
void Engine::LeaveMember(uint32_t owner, int32_t j_own, int32_t user_nr) {
  Post(Call{CallKind::kLeaveMember, owner, 0, j_own, user_nr, 0, {}});
}
void Engine::Pause(uint32_t conn) { Post(Call{CallKind::kPause, conn, 0, 0, 0, 0, {}}); }
void Engine::Unpause(uint32_t conn) { Post(Call{CallKind::kUnpause, conn, 0, 0, 0, 0, {}}); }

void Engine::EventsDone(int64_t count, int64_t remote_bytes) {
  events_in_flight_.fetch_sub(count, std::memory_order_relaxed);
  if (remote_bytes == 0) return;
  remote_in_flight_.fetch_sub(remote_bytes, std::memory_order_seq_cst);
  // Sources wait for these bytes to be taken: the I/O thread looks again (ResumeRemote).
  if (remote_waiting_.load(std::memory_order_seq_cst) && wake_fd_ >= 0) {
    const uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;
  }
}
void Engine::Own(uint32_t owner, int32_t j_own, bool owned) {
  Post(Call{CallKind::kOwn, owner, 0, j_own, owned ? 1 : 0, 0, {}});
}
void Engine::Close(uint32_t conn, int32_t reason, bool graceful) {
  Post(Call{CallKind::kClose, conn, 0, reason, graceful ? 1 : 0, 0, {}});
}

void Engine::Stats(double* out, size_t n) const {
  const size_t count = n < static_cast<size_t>(kStatCount) ? n : static_cast<size_t>(kStatCount);
  for (size_t i = 0; i < count; ++i) out[i] = published_[i].load(std::memory_order_relaxed);
}

void Engine::Stop() {
  if (stopped_) return;
  if (thread_.joinable()) {
    Post(Call{CallKind::kStop, 0, 0, 0, 0, 0, {}});
    thread_.join();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    calls_.clear();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
  if (epoll_fd_ >= 0) close(epoll_fd_);
  epoll_fd_ = -1;
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
}

// ---- I/O thread: the loop ---------------------------------------------------------------------

void Engine::Run() {
  epoll_event events[kEpollEvents];
  now_ = MonotonicMs();
  next_sweep_ms_ = now_ + sweep_every_ms_;
  for (;;) {
    ApplyCalls();
    if (stopping_) break;
    DeliverBatch();
    if (!remote_paused_.empty()) ResumeRemote();
    Publish();
    const double moved = counters_[kStatBytesIn] + counters_[kStatBytesOut];
    if (config_.batch_delay_us > 0 && moved - moved_at_turn_ >= kBatchBusyBytes) WaitToBatch();
    moved_at_turn_ = moved;
    const int n = epoll_wait(epoll_fd_, events, kEpollEvents, static_cast<int>(NextTimeoutMs()));
    now_ = MonotonicMs();
    counters_[kStatLoopTurns]++;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 != kTagWake) continue;
      uint64_t value = 0;
      ssize_t ignored = read(wake_fd_, &value, sizeof value);
      (void)ignored;
      // Calls made before the sockets' events of this wait are applied first: a close() at
      // CONNECT must refuse a socket whose first bytes came in the same wait.
      ApplyCalls();
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kTagWake) {
        continue;
      } else if (tag == kTagListen) {
        AcceptSockets();
      } else {
        OnEvent(static_cast<uint32_t>(tag), events[i].events);
      }
    }
    if (listen_backoff_until_ != 0 && now_ >= listen_backoff_until_) {
      listen_backoff_until_ = 0;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kTagListen;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    }
    if (!throttled_.empty()) ExpireThrottles();
    if (now_ >= next_sweep_ms_) {
      Sweep();
      next_sweep_ms_ = now_ + sweep_every_ms_;
    }
    // Every destination fed by this turn's reads is flushed once, whatever the number of reads
    // that fed it (an owner of 32 busy users: one sendmsg per turn, not one per user's read).
    FlushDirty();
    PressBack();
  }
  ShutdownAll();
  Publish();
}

int64_t Engine::NextTimeoutMs() const {
  int64_t next = next_sweep_ms_;
  for (uint32_t id : throttled_) {
    const Connection* c = const_cast<Engine*>(this)->Get(id);
    if (c != nullptr && c->throttle_until_ms < next) next = c->throttle_until_ms;
  }
  if (listen_backoff_until_ != 0 && listen_backoff_until_ < next) next = listen_backoff_until_;
  const int64_t wait = next - MonotonicMs();
  return wait < 0 ? 0 : wait;
}

void Engine::ApplyCalls() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    applying_.swap(calls_);
  }
  if (applying_.empty()) return;
  now_ = MonotonicMs();
  for (Call& call : applying_) {
    if (call.kind == CallKind::kStop) {
      stopping_ = true;
      break;
    }
    if (call.kind == CallKind::kEnter) {
      DoEnter(call.conn, call.a, call.other, call.b, call.c);
      continue;
    }
    if (call.kind == CallKind::kHandover) {
      ApplyHandover(call.other);
      continue;
    }
    Connection* c = Get(call.conn);
    if (c == nullptr) continue;
    if (c->phase == Phase::kPending || c->phase == Phase::kUpgrading) {
      // Refused by the control plane at CONNECT: closed at once, no bytes, no CLOSED back.
      if (call.kind == CallKind::kClose) DiscardPending(*c, Reason::kShutdown, nullptr);
      continue;
    }
    if (c->phase != Phase::kOpen) continue;
    switch (call.kind) {
      case CallKind::kAdmit:
      case CallKind::kResume: {
        const uint32_t cause = call.kind == CallKind::kAdmit ? kPauseNotAdmitted : kPauseCommand;
        if ((c->paused_by & cause) == 0) break;
        c->paused_by &= ~cause;
        // Paused by JavaScript too (a cross-node enter in flight): what it held waits for unpause.
        if ((c->paused_by & kPauseJs) == 0) ProcessHeld(*c);
        if (c->in_use && c->id == call.conn) UpdateEpoll(*c);
        FlushDirty();
        PressBack();
        break;
      }
      case CallKind::kSend:
        AppendUnit(*c, call.bytes.data(), call.bytes.size());
        c->send_fed = true;
        counters_[kStatFramesOut]++;
        MarkDirty(*c);
        break;
      case CallKind::kLeave:
        DoLeave(*c, call.a);
        break;
      case CallKind::kLeaveMember:
        DoLeaveMember(*c, call.a, call.b);
        break;
      case CallKind::kPause:
      case CallKind::kUnpause: {
        const bool on = call.kind == CallKind::kPause;
        if (((c->paused_by & kPauseJs) != 0) == on) break;
        SetPaused(*c, kPauseJs, on);
        if (on || (c->paused_by & (kPauseNotAdmitted | kPauseCommand)) != 0 || c->held.empty()) break;
        // Input held behind a command while paused: parsed now, in order, before any new read.
        ProcessHeld(*c);
        if (c->in_use && c->id == call.conn) UpdateEpoll(*c);
        FlushDirty();
        PressBack();
        break;
      }
      case CallKind::kOwn:
        DoOwn(*c, call.a, call.b != 0);
        break;
      case CallKind::kClose:
        CloseFromJs(*c, call.a, call.b != 0);
        break;
      default:
        break;
    }
  }
  applying_.clear();
  FlushDirty();
}

// ---- connections ------------------------------------------------------------------------------

Connection* Engine::Get(uint32_t id) {
  const uint32_t slot = id & kSlotMask;
  if (id == 0 || slot >= slots_.size()) return nullptr;
  Connection* c = slots_[slot].get();
  return c != nullptr && c->in_use && c->id == id ? c : nullptr;
}

Connection* Engine::NewConnection() {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.front();
    free_slots_.pop_front();
  } else if (slots_.size() < kMaxSlots) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    generations_.push_back(0);
  } else {
    return nullptr;
  }
  uint16_t gen = generations_[slot] >= kMaxGeneration ? 1 : generations_[slot] + 1;
  generations_[slot] = gen;
  slots_[slot].reset(new Connection());
  Connection* c = slots_[slot].get();
  c->id = (static_cast<uint32_t>(gen) << kSlotBits) | slot;
  c->in_use = true;
  return c;
}

void Engine::FreeConnection(Connection& c) {
  const uint32_t slot = c.id & kSlotMask;
  if (c.fd >= 0) close(c.fd);  // also removes it from the epoll set
  c.backlog.Clear(&pool_);
  // The object stays (reset, in_use false): callers up the stack may still hold a reference and
  // check in_use; it is replaced only when its slot is reused, at accept.
  c = Connection();
  free_slots_.push_back(slot);
}

void Engine::AcceptSockets() {
  if (events_in_flight_.load(std::memory_order_relaxed) > config_.max_events_in_flight) {
    // JavaScript is behind: stop polling the listener for a while (the kernel holds the sockets).
    epoll_event ev{};
    ev.data.u64 = kTagListen;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    listen_backoff_until_ = now_ + kAcceptBackoffMs;
    return;
  }
  for (int i = 0; i < kAcceptsPerTurn; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        epoll_event ev{};
        ev.data.u64 = kTagListen;
        epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
        listen_backoff_until_ = now_ + kAcceptBackoffMs;
      }
      return;
    }
    Connection* c = pending_count_ < kMaxPendingConnections ? NewConnection() : nullptr;
    if (c == nullptr) {
      close(fd);
      counters_[kStatRefusedPending]++;
      continue;
    }
    c->fd = fd;
    c->phase = Phase::kPending;
    c->accepted_ms = now_;
    char ip[INET6_ADDRSTRLEN] = {0};
    if (addr.ss_family == AF_INET6) {
      const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&addr);
      inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof ip);
      c->remote_port = ntohs(a6->sin6_port);
    } else if (addr.ss_family == AF_INET) {
      const auto* a4 = reinterpret_cast<const sockaddr_in*>(&addr);
      inet_ntop(AF_INET, &a4->sin_addr, ip, sizeof ip);
      c->remote_port = ntohs(a4->sin_port);
    }
    c->remote_ip = ip;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      FreeConnection(*c);
      continue;
    }
    c->epoll_mask = EPOLLIN;
    pending_count_++;
    // The control plane's admission (total and per-IP caps) sees every socket here, before a byte
    // is read, and may refuse it with close(); ACCEPT follows the first bytes (or the handshake).
    Emit(kEventConnect, c->id, 0, c->remote_port, reinterpret_cast<const uint8_t*>(c->remote_ip.data()),
         c->remote_ip.size());
  }
}

void Engine::OnEvent(uint32_t id, uint32_t events) {
  Connection* c = Get(id);
  if (c == nullptr) return;
  if (c->phase == Phase::kClosing) {
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      FinishClose(*c);
      return;
    }
    if ((events & EPOLLOUT) != 0) FlushConnection(*c);
    if (!c->in_use || c->id != id || (events & EPOLLIN) == 0 || !c->write_shut) return;
    // Our FIN is out: read and discard until the peer's, so that closing does not reset the
    // connection (a close with unread input sends RST, and the peer loses what we sent last).
    const ssize_t n = recv(c->fd, read_buf_.get(), kReadBytes, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) FinishClose(*c);
    return;
  }
  if ((events & EPOLLOUT) != 0) {
    FlushConnection(*c);
    if (!c->in_use || c->id != id) return;
  }
  const bool reading = (c->epoll_mask & EPOLLIN) != 0;
  if (reading && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    OnReadable(*c);
  } else if ((events & (EPOLLHUP | EPOLLERR)) != 0) {
    // Not being read, but the socket failed: level-triggered, this would repeat every turn.
    Drop(*c, (events & EPOLLERR) != 0 ? Reason::kSocketError : Reason::kPeerClosed, "");
  }
}

void Engine::OnReadable(Connection& c) {
  if (c.phase == Phase::kOpen && c.feeds_remote && RemoteBytesPending() >= kMaxRemoteBytes) {
    // JavaScript has not taken the cluster data yet: this source waits, unread (ResumeRemote).
    PauseForRemote(c);
    return;
  }
  ssize_t n;
  do {
    n = recv(c.fd, read_buf_.get(), kReadBytes, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    Drop(c, n == 0 ? Reason::kPeerClosed : Reason::kSocketError, n == 0 ? "" : std::strerror(errno));
    FlushDirty();
    return;
  }
  const size_t length = static_cast<size_t>(n);
  counters_[kStatBytesIn] += static_cast<double>(length);
  c.last_receive_ms = now_;
  if (c.phase == Phase::kPending) {
    OnFirstBytes(c, read_buf_.get(), length);
    return;
  }
  if (c.phase == Phase::kUpgrading) {
    OnUpgradeBytes(c, read_buf_.get(), length);
    return;
  }
  if (c.bytes_bucket.enabled() && !AdmitInbound(c, c.bytes_bucket, static_cast<double>(length), "inbound bytes/s")) {
    FlushDirty();
    return;
  }
  if (c.is_websocket) OnWebSocketBytes(c, read_buf_.get(), length);
  else ProcessInput(c, read_buf_.get(), length);
  // Flushed (and the sources judged for backpressure) once per loop turn, after every read of
  // the turn (Run): nothing points into the read buffer, so the next read may reuse it.
}

void Engine::OnFirstBytes(Connection& c, uint8_t* data, size_t n) {
  if (config_.websocket && data[0] == kHttpFirstByte) {
    // joint.md §9: a first byte `G` is an HTTP upgrade; the socket stays pending (login timeout)
    // until the handshake is done, and only then is it ACCEPTed, as websocket.
    c.phase = Phase::kUpgrading;
    c.handshake.reset(new WsHandshake());
    pending_upgrades_++;
    OnUpgradeBytes(c, data, n);
    return;
  }
  pending_count_--;
  OpenConnection(c, false);
  c.held.assign(data, data + n);
  if (c.bytes_bucket.enabled()) AdmitInbound(c, c.bytes_bucket, static_cast<double>(n), "inbound bytes/s");
}

void Engine::OpenConnection(Connection& c, bool websocket) {
  c.phase = Phase::kOpen;
  c.is_websocket = websocket;
  if (config_.inbound_bytes_per_sec > 0) {
    c.bytes_bucket = TokenBucket(config_.inbound_bytes_per_sec,
                                 std::max(1.0, config_.inbound_bytes_per_sec * config_.inbound_burst_seconds), now_);
  }
  if (config_.inbound_units_per_sec > 0) {
    c.units_bucket = TokenBucket(config_.inbound_units_per_sec,
                                 std::max(1.0, config_.inbound_units_per_sec * config_.inbound_burst_seconds), now_);
  }
  c.paused_by = kPauseNotAdmitted;
  c.last_receive_ms = now_;
  counters_[kStatConnections]++;
  counters_[kStatAccepted]++;
  UpdateEpoll(c);
  Emit(kEventAccept, c.id, websocket ? 1 : 0, c.remote_port, reinterpret_cast<const uint8_t*>(c.remote_ip.data()),
       c.remote_ip.size());
}

void Engine::DiscardPending(Connection& c, Reason reason, const char* detail) {
  pending_count_--;
  if (c.phase == Phase::kUpgrading) pending_upgrades_--;
  // JavaScript heard of it at CONNECT: a CLOSED releases what it counted (detail null: it asked).
  if (detail != nullptr) {
    Emit(kEventClosed, c.id, static_cast<int32_t>(reason), 0, reinterpret_cast<const uint8_t*>(detail), std::strlen(detail));
  }
  FreeConnection(c);
}

void Engine::OnUpgradeBytes(Connection& c, uint8_t* data, size_t n) {
  const WsHandshakeResult result = c.handshake->Feed(data, n);
  if (result == WsHandshakeResult::kNeedMore) return;
  pending_count_--;
  pending_upgrades_--;
  if (result == WsHandshakeResult::kRejected) {
    // The HTTP error goes out, then the socket closes; JavaScript hears CLOSED (it saw CONNECT).
    counters_[kStatWebSocketRefused]++;
    const std::string detail = std::string("websocket handshake: ") + c.handshake->reason();
    Emit(kEventClosed, c.id, static_cast<int32_t>(Reason::kProtocolError), 0,
         reinterpret_cast<const uint8_t*>(detail.data()), std::min(detail.size(), kMaxDetailBytes));
    AppendRaw(c, c.handshake->response(), c.handshake->response_size());
    c.handshake.reset();
    c.phase = Phase::kClosing;
    c.close_deadline_ms = now_ + kCloseGraceMs;
    FlushConnection(c);
    return;
  }
  AppendRaw(c, c.handshake->response(), c.handshake->response_size());
  const size_t used = c.handshake->consumed();
  c.handshake.reset();
  WsDecoderOptions options;
  options.delivery = WsDelivery::kStream;
  const int64_t max_message = config_.max_websocket_payload_bytes;
  options.max_message_bytes = max_message < 1 ? 1
                              : max_message > static_cast<int64_t>(kWsMaxMessageBytesLimit)
                                  ? kWsMaxMessageBytesLimit
                                  : static_cast<uint32_t>(max_message);
  options.validate_utf8 = true;
  c.ws.reset(new WsFrameDecoder(options));
  OpenConnection(c, true);
  MarkDirty(c);
  if (used < n) OnWebSocketBytes(c, data + used, n - used);
}

void Engine::OnWebSocketBytes(Connection& c, uint8_t* data, size_t n) {
  const uint32_t id = c.id;
  WsEvent events[kWsEventsPerFeed];
  size_t at = 0;
  while (at < n) {
    WsFrameDecoder& decoder = *c.ws;
    uint8_t* base = data + at;
    const int32_t count = decoder.Feed(base, n - at, events, kWsEventsPerFeed);
    for (int32_t i = 0; i < count; ++i) {
      const WsEvent& e = events[i];
      const uint8_t* bytes = (e.flags & kWsEventInCarry) != 0 ? decoder.carry_data() + e.offset : base + e.offset;
      if (e.kind == WsEventKind::kData) {
        // joint.md §9: binary and text payloads are the joint stream; message boundaries mean nothing.
        if ((c.paused_by & (kPauseNotAdmitted | kPauseCommand)) != 0) {
          c.held.insert(c.held.end(), bytes, bytes + e.length);
        } else {
          ProcessInput(c, bytes, e.length);
          if (!c.in_use || c.id != id) return;
        }
        continue;
      }
      if (e.kind == WsEventKind::kClose) {
        uint8_t frame[kWsMaxControlFrameBytes];
        AppendRaw(c, frame, WsEncodeClose(frame, sizeof frame, e.close_code, nullptr, 0));
        Drop(c, Reason::kPeerClosed, "", true);
        return;
      }
      // Ping or pong: each ping costs a pong, so their rate is bounded (the Node engine's rule).
      if (now_ - c.control_window_ms >= 1000) {
        c.control_window_ms = now_;
        c.control_frames = 0;
      }
      if (++c.control_frames > kWsMaxControlFramesPerSecond) {
        WebSocketFail(c, kWsClosePolicy, "control frame flood");
        return;
      }
      if (e.kind == WsEventKind::kPing) {
        uint8_t frame[kWsMaxControlFrameBytes];
        AppendRaw(c, frame, WsEncodePong(frame, sizeof frame, bytes, e.length));
        MarkDirty(c);
      }
    }
    if (decoder.error() != WsError::kNone) {
      WebSocketFail(c, WsErrorCloseCode(decoder.error()), WsErrorText(decoder.error()));
      return;
    }
    if (decoder.closed() || decoder.consumed() == 0) return;
    at += decoder.consumed();
  }
}

void Engine::WebSocketFail(Connection& c, uint16_t code, const char* reason) {
  uint8_t frame[kWsMaxControlFrameBytes];
  const size_t length = std::strlen(reason);
  const size_t n = WsEncodeClose(frame, sizeof frame, code, reinterpret_cast<const uint8_t*>(reason),
                                 length < kWsMaxCloseReasonBytes ? length : kWsMaxCloseReasonBytes);
  AppendRaw(c, frame, n);
  Drop(c, Reason::kProtocolError, std::string("websocket ") + std::to_string(code) + ": " + reason, true);
}

// ---- inbound ----------------------------------------------------------------------------------

void Engine::ProcessHeld(Connection& c) {
  if (c.held.empty()) return;
  // Taken out (a new hold assigns c.held afresh) and freed after: a held connection's memory
  // goes back once it is parsed, instead of keeping a read's worth of capacity.
  std::vector<uint8_t> input;
  input.swap(c.held);
  ProcessInput(c, input.data(), input.size());
}

void Engine::ProcessInput(Connection& c, const uint8_t* data, size_t length) {
  const uint32_t id = c.id;
  // A broadcast run never outlives its input: whatever way this returns, the members get theirs.
  struct RunEnd {
    Engine* engine;
    ~RunEnd() { engine->EndRun(); }
  } run_end{this};
  if (!c.parser) {
    if (spare_parsers_.empty()) {
      c.parser.reset(new JointParser(kJointToRelay));
    } else {
      c.parser = std::move(spare_parsers_.back());
      spare_parsers_.pop_back();
    }
  }
  JointParser& parser = *c.parser;
  // Whether the parser ends this input at a unit boundary (nothing partial in it): it is then as
  // good as a fresh one and goes back to the spares, so an idle connection holds none.
  bool boundary = false;
  size_t offset = 0;
  // The first feed of an input hands out one unit: a command split across inputs (served from
  // the parser's carry) then ends exactly at consumed(), where parsing resumes after it.
  int32_t max_units = 1;
  while (offset < length) {
    const uint8_t* base = data + offset;
    const int32_t count = parser.Feed(base, length - offset, units_, max_units);
    max_units = kUnitsPerFeed;
    if (count > 0 && c.units_bucket.enabled() && !AdmitInbound(c, c.units_bucket, count, "inbound units/s")) return;
    for (int32_t i = 0; i < count; ++i) {
      const int32_t* u = units_ + i * kJointUnitStride;
      const int32_t kind = u[0], flags = u[1], a = u[2], b = u[3], off = u[4], n = u[5];
      // Bytes of the run in progress go to its members before anything this unit queues.
      if (kind != kJointBroadcast) EndRun();
      if (kind == kJointCommand) {
        counters_[kStatFramesIn]++;
        counters_[kStatCommands]++;
        const uint8_t* payload = (flags & kFlagInCarry) != 0 ? parser.carry_data() : base + off;
        Emit(kEventCommand, id, a, b, payload, static_cast<size_t>(n));
        // Parsing stops until resume() (data after an enter must see its route), then resumes
        // right after the command, with a fresh parser: the parser may already
        // have taken what follows (a partial unit into its carry, or bad bytes and an error), and
        // a command ends at a unit boundary, outside any broadcast prefix, so a fresh parser is in
        // the state the old one was in right after it. A command completed from the carry came
        // from the first feed of this input, which hands out one unit and so stopped right there.
        const size_t resume_at = (flags & kFlagInCarry) != 0
            ? offset + parser.consumed()
            : offset + static_cast<size_t>(off) + static_cast<size_t>(n);
        parser.Reset();
        c.held.assign(data + resume_at, data + length);
        SetPaused(c, kPauseCommand, true);
        GiveBackParser(c);
        return;
      }
      if ((flags & kFlagFrameStart) != 0) c.frame_seq = enter_seq_;
      if ((flags & kFlagFrameEnd) != 0) counters_[kStatFramesIn]++;
      if (kind == kJointData) {
        if (a < kOwnRoute) UserData(c, a, flags, base + off, static_cast<size_t>(n));
        else OwnerData(c, a - kOwnRoute, b, flags, base + off, static_cast<size_t>(n));
      } else if (kind == kJointBroadcast) {
        Broadcast(c, a - kOwnRoute, b, flags, base + off, static_cast<size_t>(n));
        if (!c.in_use || c.id != id) return;
      }
    }
    if (parser.error() != Status::kOk) {
      Drop(c, Reason::kProtocolError, ParserErrorName(parser.error()));
      return;
    }
    const size_t consumed = parser.consumed();
    if (count > 0) {
      const int32_t* last = units_ + (count - 1) * kJointUnitStride;
      const bool complete = last[0] == kJointCommand || (last[1] & kFlagFrameEnd) != 0;
      // A carried unit is only ever the one unit of a first feed, so it ends at consumed().
      boundary = complete && ((last[1] & kFlagInCarry) != 0 || static_cast<size_t>(last[4] + last[5]) == consumed);
    } else if (consumed > 0) {
      boundary = false;
    }
    if (consumed == 0) break;
    offset += consumed;
  }
  if (boundary) GiveBackParser(c);
}

void Engine::GiveBackParser(Connection& c) {
  if (!c.parser) return;
  if (spare_parsers_.size() < kParserSparesMax) {
    c.parser->Reset();
    spare_parsers_.push_back(std::move(c.parser));
  }
  c.parser.reset();
}

bool Engine::AdmitInbound(Connection& c, TokenBucket& bucket, double n, const char* what) {
  if (config_.inbound_policy == 1) {
    if (bucket.Take(n, now_)) return true;
    Drop(c, Reason::kRateLimit, what);
    return false;
  }
  const int64_t wait = bucket.Charge(n, now_);
  if (wait > 0 && now_ + wait > c.throttle_until_ms) {
    if ((c.paused_by & kPauseThrottle) == 0) {
      counters_[kStatThrottled]++;
      SetPaused(c, kPauseThrottle, true);
      throttled_.push_back(c.id);
    }
    c.throttle_until_ms = now_ + wait;
  }
  return true;
}

void Engine::ExpireThrottles() {
  size_t keep = 0;
  for (size_t i = 0; i < throttled_.size(); ++i) {
    Connection* c = Get(throttled_[i]);
    if (c == nullptr || c->phase != Phase::kOpen) continue;
    if (now_ >= c->throttle_until_ms) {
      SetPaused(*c, kPauseThrottle, false);
      continue;
    }
    throttled_[keep++] = throttled_[i];
  }
  throttled_.resize(keep);
}

// ---- forwarding (src/relay/forwarding.ts) -----------------------------------------------------

void Engine::UserData(Connection& c, int32_t j_in, int32_t flags, const uint8_t* p, size_t n) {
  const InRoute* r = c.entered.Find(static_cast<uint32_t>(j_in));
  if (r != nullptr && r->owner == kRemote) {
    EmitRemote(c, kRemoteToOwner, j_in, r->user_nr, flags, p, n);
    return;
  }
  Connection* owner = r != nullptr ? Get(r->owner) : nullptr;
  if (owner == nullptr) {
    counters_[kStatDrops]++;
    return;
  }
  ToOwner(*owner, r->j_own, r->user_nr, p, n);
  // Once per (source, owner) and turn: a source's units are handled together (one read a turn).
  if (!owner->fed || owner->fed_by != c.id) {
    owner->fed = true;
    owner->fed_by = c.id;
    fed_.push_back(Fed{c.id, owner->id});
  }
}

void Engine::OwnerData(Connection& c, int32_t j_own, int32_t user_nr, int32_t flags, const uint8_t* p, size_t n) {
  OwnJoint* joint = OwnJointOf(c, j_own);
  const Member* m = joint != nullptr && user_nr >= 0 ? joint->members.Find(static_cast<uint32_t>(user_nr)) : nullptr;
  if (m != nullptr && m->user == kRemote && m->seq <= c.frame_seq) {
    EmitRemote(c, kRemoteToUser, j_own, user_nr, flags, p, n);
    return;
  }
  // A user who entered after this frame began (the userNr was reused) gets none of it.
  Connection* user = m != nullptr && m->seq <= c.frame_seq ? Get(m->user) : nullptr;
  if (user == nullptr) {
    counters_[kStatDrops]++;
    return;
  }
  ToUser(*user, m->j_in, p, n);
}

void Engine::Broadcast(Connection& c, int32_t j_own, int32_t excluded, int32_t flags, const uint8_t* p, size_t n) {
  OwnJoint* joint = OwnJointOf(c, j_own);
  if (joint == nullptr || !joint->owned) {
    // joint.md §5, D2: a broadcast on a joint the sender does not own is a protocol error.
    // What the run owes is handed over first.
    EndRun();
    Drop(c, Reason::kProtocolError, "broadcast on a joint the sender does not own");
    return;
  }
  // The recipients are fixed by the joint, the excluded userNr and the frame's enter sequence
  // (a member who entered after the frame began gets none of it): another of these, another run.
  if (run_.owner != c.id || run_.joint != joint || run_.excluded != excluded || run_.seq != c.frame_seq) {
    EndRun();
    StartRun(c, *joint, excluded);
  }
  for (const BroadcastRun::Single& s : run_.singles) {
    Connection* user = Get(s.user);
    if (user != nullptr) ToUser(*user, s.j_in, p, n);
  }
  for (size_t g = 0; g < run_.group_count; ++g) WriteRunGroup(g, p, n);
  // One record for every other node: JavaScript knows which nodes have which users, and fans it
  // out (one BROADCAST per node, the late-entrant rule there as in cluster-routing.ts).
  if (run_.remote) EmitRemote(c, kRemoteBroadcast, j_own, excluded, flags, p, n);
}

void Engine::StartRun(Connection& c, const OwnJoint& joint, int32_t excluded) {
  run_.owner = c.id;
  run_.joint = &joint;
  run_.excluded = excluded;
  run_.seq = c.frame_seq;
  run_.remote = false;
  for (const Member& m : joint.members.items()) {
    if (m.key == excluded || m.seq > c.frame_seq) continue;
    if (m.user == kRemote) {
      run_.remote = true;
      continue;
    }
    Connection* user = Get(m.user);
    if (user == nullptr || user->phase != Phase::kOpen) continue;
    if (user->ws) {
      // Each unit is a WebSocket message of its own (its header in front): written per member.
      run_.singles.push_back(BroadcastRun::Single{m.user, m.j_in});
      continue;
    }
    int16_t g = run_.group_of[m.j_in];
    if (g < 0) {
      g = static_cast<int16_t>(run_.group_count++);
      if (run_.groups.size() < run_.group_count) run_.groups.emplace_back();
      run_.groups[g].j_in = m.j_in;
      run_.group_of[m.j_in] = g;
    }
    run_.groups[g].members.push_back(m.user);
  }
}

void Engine::WriteRunGroup(size_t g, const uint8_t* p, size_t n) {
  RunGroup& group = run_.groups[g];
  while (n > 0) {
    const size_t take = n < static_cast<size_t>(kMaxUserFrameData) ? n : static_cast<size_t>(kMaxUserFrameData);
    const int32_t size = static_cast<int32_t>(take) + 1;
    const size_t need = kMaxFrameHeaderBytes + 1 + take;
    // The group alone holds its chunks while the run lasts: frames go on at the tail's fill.
    if (group.segs.empty() || group.segs.back().chunk->capacity - group.segs.back().end < need) {
      group.segs.push_back(Segment{pool_.Take(need), 0, 0});
    }
    Segment& tail = group.segs.back();
    uint8_t* at = tail.chunk->data.get() + tail.end;
    size_t h = WriteSize(at, size);
    at[h++] = group.j_in;
    std::memcpy(at + h, p, take);
    tail.end += h + take;
    tail.chunk->fill = tail.end;
    group.bytes += h + take;
    group.frames++;
    p += take;
    n -= take;
  }
}

void Engine::EndRun() {
  if (run_.owner == 0) return;
  for (size_t g = 0; g < run_.group_count; ++g) {
    RunGroup& group = run_.groups[g];
    run_.group_of[group.j_in] = -1;
    if (group.bytes > 0) {
      for (uint32_t id : group.members) {
        Connection* user = Get(id);
        if (user == nullptr || user->phase != Phase::kOpen) continue;
        for (const Segment& s : group.segs) {
          if (s.end - s.begin >= kShareMinBytes) user->backlog.Share(s.chunk, s.begin, s.end);
          else user->backlog.Append(&pool_, s.chunk->data.get() + s.begin, s.end - s.begin);
        }
        user->unit_queued = true;
        counters_[kStatBacklogBytes] += static_cast<double>(group.bytes);
        counters_[kStatFramesOut] += group.frames;
        MarkDirty(*user);
      }
    }
    // The group's references go: a chunk no member shares goes back to the pool at once.
    for (const Segment& s : group.segs) Unref(s.chunk, &pool_);
    group.segs.clear();
    group.members.clear();
    group.bytes = 0;
    group.frames = 0;
  }
  run_.group_count = 0;
  run_.singles.clear();
  run_.owner = 0;
  run_.joint = nullptr;
}

void Engine::EmitRemote(Connection& c, int32_t kind, int32_t j, int32_t nr, int32_t flags, const uint8_t* p, size_t n) {
  EventBatch& batch = *batch_;
  const int32_t offset = static_cast<int32_t>(batch.bytes.size());
  batch.bytes.insert(batch.bytes.end(), p, p + n);
  const int32_t record[kEventStride] = {kEventRemote, static_cast<int32_t>(c.id), kind, j, nr, offset, static_cast<int32_t>(n), flags};
  batch.records.insert(batch.records.end(), record, record + kEventStride);
  batch.count++;
  // A record costs its slots too, so that many tiny pieces are bounded as well as large ones.
  batch.remote_bytes += static_cast<int64_t>(n) + kRemoteRecordCostBytes;
  counters_[kStatRemotePieces]++;
  counters_[kStatRemoteBytes] += static_cast<double>(n);
  c.feeds_remote = true;
  if (RemoteBytesPending() >= kMaxRemoteBytes) PauseForRemote(c);
}

void Engine::PauseForRemote(Connection& c) {
  if ((c.paused_by & kPauseRemote) != 0) return;
  counters_[kStatRemotePaused]++;
  remote_paused_.push_back(c.id);
  remote_waiting_.store(true, std::memory_order_seq_cst);
  SetPaused(c, kPauseRemote, true);
}

void Engine::ResumeRemote() {
  // Half the cap: a source read again does not stop again at the next read.
  if (RemoteBytesPending() > kMaxRemoteBytes / 2) return;
  remote_waiting_.store(false, std::memory_order_seq_cst);
  std::vector<uint32_t> paused;
  paused.swap(remote_paused_);
  for (uint32_t id : paused) {
    Connection* c = Get(id);
    if (c != nullptr && c->phase == Phase::kOpen && (c->paused_by & kPauseRemote) != 0) SetPaused(*c, kPauseRemote, false);
  }
}

void Engine::ToOwner(Connection& owner, int32_t j_own, int32_t user_nr, const uint8_t* p, size_t n) {
  while (n > 0) {
    const size_t take = n < static_cast<size_t>(kMaxOwnerFrameData) ? n : static_cast<size_t>(kMaxOwnerFrameData);
    const int32_t size = static_cast<int32_t>(take) + 2;
    owner.unit_queued = true;
    uint8_t* at = owner.backlog.Reserve(&pool_, kMaxUnitPrefixBytes + kMaxFrameHeaderBytes + 2 + take);
    size_t h = UnitPrefix(owner, at, (size <= kMaxShortFrameSize ? 1 : 2) + static_cast<size_t>(size));
    h += WriteSize(at + h, size);
    at[h++] = static_cast<uint8_t>(j_own + kOwnRoute);
    at[h++] = static_cast<uint8_t>(user_nr);
    std::memcpy(at + h, p, take);
    owner.backlog.Commit(h + take);
    counters_[kStatBacklogBytes] += static_cast<double>(h + take);
    counters_[kStatFramesOut]++;
    p += take;
    n -= take;
  }
  MarkDirty(owner);
}

void Engine::ToUser(Connection& user, int32_t j_in, const uint8_t* p, size_t n) {
  if (user.phase != Phase::kOpen) return;
  while (n > 0) {
    const size_t take = n < static_cast<size_t>(kMaxUserFrameData) ? n : static_cast<size_t>(kMaxUserFrameData);
    const int32_t size = static_cast<int32_t>(take) + 1;
    user.unit_queued = true;
    uint8_t* at = user.backlog.Reserve(&pool_, kMaxUnitPrefixBytes + kMaxFrameHeaderBytes + 1 + take);
    size_t h = UnitPrefix(user, at, (size <= kMaxShortFrameSize ? 1 : 2) + static_cast<size_t>(size));
    h += WriteSize(at + h, size);
    at[h++] = static_cast<uint8_t>(j_in);
    std::memcpy(at + h, p, take);
    user.backlog.Commit(h + take);
    counters_[kStatBacklogBytes] += static_cast<double>(h + take);
    counters_[kStatFramesOut]++;
    p += take;
    n -= take;
  }
  MarkDirty(user);
}

void Engine::AppendUnit(Connection& c, const uint8_t* p, size_t n) {
  c.unit_queued = true;
  // An empty unit is nothing on a byte stream (and would strand a reserved chunk); on a WebSocket
  // it is an empty message.
  if (n == 0 && !c.ws) return;
  uint8_t* at = c.backlog.Reserve(&pool_, kMaxUnitPrefixBytes);
  const size_t h = UnitPrefix(c, at, n);
  c.backlog.Commit(h);
  counters_[kStatBacklogBytes] += static_cast<double>(h);
  AppendRaw(c, p, n);
}

void Engine::AppendRaw(Connection& c, const uint8_t* p, size_t n) {
  c.backlog.Append(&pool_, p, n);
  counters_[kStatBacklogBytes] += static_cast<double>(n);
}

void Engine::MarkDirty(Connection& c) {
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(c.id);
}

// ---- outbound and backpressure (src/relay/backpressure.ts) ------------------------------------

void Engine::FlushDirty() {
  const double cap = static_cast<double>(config_.max_outbound_bytes);
  while (!dirty_.empty()) {
    dirty_swap_.clear();
    dirty_swap_.swap(dirty_);
    for (uint32_t id : dirty_swap_) {
      Connection* c = Get(id);
      if (c == nullptr) continue;
      c->dirty = false;
      if (c->phase != Phase::kOpen) continue;
      FlushConnection(*c);
      if (!c->in_use || c->id != id) continue;
      if (c->send_fed) {
        c->send_fed = false;
        const int64_t high = config_.outbound_high_water_bytes;
        if (!c->send_high && high > 0 && static_cast<int64_t>(c->backlog.bytes()) > high) {
          c->send_high = true;
          Emit(kEventBacklog, id, 1, 0, nullptr, 0);
        }
      }
      // Keepalive counts from units sent (as the Node engine's outbox), not from a handshake's 101
      // or a pong: a WebSocket peer that never sent a command gets none.
      if (c->unit_queued) {
        c->unit_queued = false;
        c->last_send_ms = now_;
        c->keepalive_armed = true;
      }
      if (cap <= 0) continue;
      const double backlog = static_cast<double>(c->backlog.bytes());
      // Past the cap by its own doing (nobody paused on its behalf), or past twice it anyway.
      if (backlog > cap && ((!c->waiters && !c->fed) || backlog > 2 * cap)) {
        Drop(*c, Reason::kSlowReader, std::to_string(c->backlog.bytes()) + " bytes unsent");
      }
    }
  }
}

void Engine::FlushConnection(Connection& c) {
  if (c.backlog.bytes() == 0) {
    c.unsent = 0;
    if (c.phase == Phase::kClosing) ShutWrite(c);
    else UpdateEpoll(c);
    return;
  }
  int error = 0;
  // The stall clock starts when a backlog begins (nothing was left unsent by the last flush).
  if (c.unsent == 0) c.progress_ms = now_;
  const size_t sent = c.backlog.Flush(c.fd, &pool_, &error);
  c.unsent = c.backlog.bytes();
  counters_[kStatBytesOut] += static_cast<double>(sent);
  counters_[kStatBacklogBytes] -= static_cast<double>(sent);
  if (error != 0) {
    if (c.phase == Phase::kClosing) FinishClose(c);
    else Drop(c, Reason::kSocketError, std::strerror(error));
    return;
  }
  if (sent > 0) {
    c.progress_ms = now_;
    const size_t low = static_cast<size_t>(config_.outbound_low_water_bytes);
    if (c.waiters && c.backlog.bytes() <= low) Release(c);
    if (c.send_high && c.phase == Phase::kOpen && c.backlog.bytes() <= low) {
      c.send_high = false;
      Emit(kEventBacklog, c.id, 0, 0, nullptr, 0);
    }
  }
  if (c.phase == Phase::kClosing && c.backlog.empty()) {
    ShutWrite(c);
    return;
  }
  UpdateEpoll(c);
}

void Engine::PressBack() {
  if (fed_.empty()) return;
  const size_t high = static_cast<size_t>(config_.outbound_high_water_bytes);
  for (const Fed& f : fed_) {
    Connection* owner = Get(f.owner);
    if (owner == nullptr) continue;
    owner->fed = false;
    // A source gone meanwhile: nobody to pause, but the owner's mark had to go.
    Connection* src = Get(f.source);
    if (src == nullptr) continue;
    Connection& source = *src;
    if (high == 0 || owner == &source || source.phase != Phase::kOpen || owner->phase != Phase::kOpen) continue;
    if (owner->backlog.bytes() <= high) continue;
    if (!owner->waiters) owner->waiters.reset(new std::unordered_set<uint32_t>());
    if (!owner->waiters->insert(source.id).second) continue;
    source.waiting_on++;
    if ((source.paused_by & kPauseBackpressure) == 0) {
      counters_[kStatBackpressured]++;
      counters_[kStatBackpressuredNow]++;
      SetPaused(source, kPauseBackpressure, true);
    }
  }
  fed_.clear();
}

void Engine::Release(Connection& dest) {
  if (!dest.waiters) return;
  std::unique_ptr<std::unordered_set<uint32_t>> waiters = std::move(dest.waiters);
  for (uint32_t id : *waiters) {
    Connection* source = Get(id);
    if (source == nullptr || source->phase != Phase::kOpen) continue;
    if (source->waiting_on > 0 && --source->waiting_on > 0) continue;
    if ((source->paused_by & kPauseBackpressure) == 0) continue;
    counters_[kStatBackpressuredNow]--;
    SetPaused(*source, kPauseBackpressure, false);
  }
}

void Engine::SetPaused(Connection& c, uint32_t cause, bool on) {
  c.paused_by = on ? (c.paused_by | cause) : (c.paused_by & ~cause);
  UpdateEpoll(c);
}

void Engine::UpdateEpoll(Connection& c) {
  if (c.fd < 0) return;
  uint32_t want = 0;
  if (c.phase == Phase::kPending || c.phase == Phase::kUpgrading || (c.phase == Phase::kOpen && c.paused_by == 0) ||
      (c.phase == Phase::kClosing && c.write_shut)) {
    want |= EPOLLIN;
  }
  if (!c.backlog.empty()) want |= EPOLLOUT;
  if (want == c.epoll_mask) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.epoll_mask = want;
}

// ---- closing ----------------------------------------------------------------------------------

void Engine::Drop(Connection& c, Reason reason, const std::string& detail, bool flush_first) {
  if (!c.in_use) return;
  if (c.phase == Phase::kPending || c.phase == Phase::kUpgrading) {
    DiscardPending(c, reason, detail.c_str());
    return;
  }
  if (c.phase == Phase::kClosing) {
    FinishClose(c);
    return;
  }
  const uint32_t id = c.id;
  if ((c.paused_by & kPauseBackpressure) != 0) counters_[kStatBackpressuredNow]--;
  c.paused_by = 0;
  Release(c);
  RemoveRoutes(c);
  counters_[kStatConnections]--;
  counters_[kStatDisconnects + static_cast<int32_t>(reason)]++;
  const std::string text = detail.size() > kMaxDetailBytes ? detail.substr(0, kMaxDetailBytes) : detail;
  Emit(kEventClosed, id, static_cast<int32_t>(reason), 0, reinterpret_cast<const uint8_t*>(text.data()), text.size());
  if (flush_first) {
    // A WebSocket close frame (ours or the answer to the peer's) goes out before the socket closes.
    c.held.clear();
    c.phase = Phase::kClosing;
    c.close_deadline_ms = now_ + kCloseGraceMs;
    FlushConnection(c);
    return;
  }
  FinishClose(c);
}

void Engine::CloseFromJs(Connection& c, int32_t reason, bool graceful) {
  if ((c.paused_by & kPauseBackpressure) != 0) counters_[kStatBackpressuredNow]--;
  c.paused_by = 0;
  Release(c);
  RemoveRoutes(c);
  counters_[kStatConnections]--;
  if (reason >= 0 && reason < kReasonCount) counters_[kStatDisconnects + reason]++;
  if (!graceful) {
    // The control plane's drops (a command's rate limit or protocol error...): closed at once,
    // what is queued dropped, no close frame, as the Node engine's destroy().
    FinishClose(c);
    return;
  }
  c.held.clear();
  c.held.shrink_to_fit();
  if (c.ws) {
    // A graceful end, as the Node engine's WsStream.end(): close 1000 after what is queued.
    uint8_t frame[kWsMaxControlFrameBytes];
    AppendRaw(c, frame, WsEncodeClose(frame, sizeof frame, kWsCloseNormal, nullptr, 0));
  }
  c.phase = Phase::kClosing;
  c.close_deadline_ms = now_ + config_.close_grace_ms;
  FlushConnection(c);
}

void Engine::ShutWrite(Connection& c) {
  if (!c.write_shut) {
    shutdown(c.fd, SHUT_WR);
    c.write_shut = true;
  }
  UpdateEpoll(c);
}

void Engine::FinishClose(Connection& c) {
  counters_[kStatBacklogBytes] -= static_cast<double>(c.backlog.bytes());
  FreeConnection(c);
}

void Engine::ShutdownAll() {
  for (auto& slot : slots_) {
    if (!slot || !slot->in_use) continue;
    Connection& c = *slot;
    // What is owed goes out if the kernel takes it now; nobody waits for the rest.
    if (c.phase != Phase::kPending && !c.backlog.empty()) {
      int error = 0;
      counters_[kStatBytesOut] += static_cast<double>(c.backlog.Flush(c.fd, &pool_, &error));
    }
    if (c.phase == Phase::kOpen) {
      counters_[kStatConnections]--;
      counters_[kStatDisconnects + static_cast<int32_t>(Reason::kShutdown)]++;
    }
    FreeConnection(c);
  }
  counters_[kStatBacklogBytes] = 0;
  pending_count_ = 0;
  pending_upgrades_ = 0;
}

// ---- routing table ----------------------------------------------------------------------------

OwnJoint* Engine::OwnJointOf(Connection& owner, int32_t j_own) {
  OwnEntry* e = owner.own.Find(static_cast<uint32_t>(j_own));
  return e != nullptr ? e->joint.get() : nullptr;
}

OwnJoint& Engine::JointOf(Connection& owner, int32_t j_own) {
  OwnJoint* joint = OwnJointOf(owner, j_own);
  if (joint != nullptr) return *joint;
  OwnEntry& e = owner.own.Insert(static_cast<uint32_t>(j_own));
  e.joint.reset(new OwnJoint());
  return *e.joint;
}

void Engine::DoEnter(uint32_t user_id, int32_t j_in, uint32_t owner_id, int32_t j_own, int32_t user_nr) {
  // kRemote on one side: a route that crosses nodes (its pieces become REMOTE records); not both.
  Connection* user = user_id == kRemote ? nullptr : Get(user_id);
  Connection* owner = owner_id == kRemote ? nullptr : Get(owner_id);
  if ((user == nullptr && user_id != kRemote) || (owner == nullptr && owner_id != kRemote) || (user == nullptr && owner == nullptr)) return;
  if ((user != nullptr && user->phase != Phase::kOpen) || (owner != nullptr && owner->phase != Phase::kOpen)) return;
  if (j_in < 0 || j_in >= kJointsPerConnection || j_own < 0 || j_own >= kJointsPerConnection || user_nr < 0 ||
      user_nr >= kUsersPerJoint) {
    return;
  }
  if (owner == nullptr) {
    // A local user of a joint owned on another node: only its side of the route is here.
    DoLeave(*user, j_in);
    InRoute& r = user->entered.Insert(static_cast<uint32_t>(j_in));
    r.owner = kRemote;
    r.j_own = static_cast<uint8_t>(j_own);
    r.user_nr = static_cast<uint8_t>(user_nr);
    return;
  }
  if (user != nullptr) DoLeave(*user, j_in);
  OwnJoint& joint = JointOf(*owner, j_own);
  joint.owned = true;
  if (Member* m = joint.members.Find(static_cast<uint32_t>(user_nr))) {
    // The control plane gave this userNr to a new user without a leave of the old: the old route goes.
    Connection* other = Get(m->user);
    if (other != nullptr) {
      InRoute* r = other->entered.Find(m->j_in);
      if (r != nullptr && r->owner == owner_id) other->entered.Erase(r);
    }
    joint.members.Erase(m);
  }
  Member& m = joint.members.Insert(static_cast<uint32_t>(user_nr));
  m.user = user_id;
  m.j_in = static_cast<uint8_t>(j_in);
  m.seq = ++enter_seq_;
  if (user == nullptr) return;  // a user of another node: the member is the whole route here
  InRoute& r = user->entered.Insert(static_cast<uint32_t>(j_in));
  r.owner = owner_id;
  r.j_own = static_cast<uint8_t>(j_own);
  r.user_nr = static_cast<uint8_t>(user_nr);
}

void Engine::DoLeave(Connection& user, int32_t j_in) {
  InRoute* r = j_in >= 0 ? user.entered.Find(static_cast<uint32_t>(j_in)) : nullptr;
  if (r == nullptr) return;
  Connection* owner = Get(r->owner);
  OwnJoint* joint = owner != nullptr ? OwnJointOf(*owner, r->j_own) : nullptr;
  Member* m = joint != nullptr ? joint->members.Find(r->user_nr) : nullptr;
  if (m != nullptr && m->user == user.id) joint->members.Erase(m);
  user.entered.Erase(r);
}

void Engine::DoLeaveMember(Connection& owner, int32_t j_own, int32_t user_nr) {
  OwnJoint* joint = j_own >= 0 && j_own < kJointsPerConnection ? OwnJointOf(owner, j_own) : nullptr;
  Member* m = joint != nullptr && user_nr >= 0 ? joint->members.Find(static_cast<uint32_t>(user_nr)) : nullptr;
  if (m == nullptr) return;
  Connection* user = m->user == kRemote ? nullptr : Get(m->user);
  InRoute* r = user != nullptr ? user->entered.Find(m->j_in) : nullptr;
  if (r != nullptr && r->owner == owner.id && r->j_own == j_own) user->entered.Erase(r);
  joint->members.Erase(m);
}

void Engine::DoOwn(Connection& owner, int32_t j_own, bool owned) {
  if (j_own < 0 || j_own >= kJointsPerConnection) return;
  if (owned) {
    JointOf(owner, j_own).owned = true;
    return;
  }
  OwnEntry* e = owner.own.Find(static_cast<uint32_t>(j_own));
  if (e == nullptr) return;
  for (const Member& m : e->joint->members.items()) {
    Connection* user = Get(m.user);
    InRoute* r = user != nullptr ? user->entered.Find(m.j_in) : nullptr;
    if (r != nullptr && r->owner == owner.id) user->entered.Erase(r);
  }
  owner.own.Erase(e);
}

void Engine::RemoveRoutes(Connection& c) {
  while (!c.entered.empty()) DoLeave(c, c.entered.items().back().key);
  while (!c.own.empty()) DoOwn(c, c.own.items().back().key, false);
}

// ---- timers -----------------------------------------------------------------------------------

void Engine::Sweep() {
  const int64_t login = config_.login_timeout_ms;
  const int64_t idle = config_.idle_timeout_ms;
  const int64_t stall = config_.stall_timeout_ms;
  const int64_t period = config_.keepalive_ms;
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    Connection* c = slots_[slot].get();
    if (c == nullptr || !c->in_use) continue;
    if (c->phase == Phase::kPending || c->phase == Phase::kUpgrading) {
      // joint.md §7: 5 s from accept to the first byte (raw) or the end of the handshake (WebSocket).
      if (login > 0 && now_ - c->accepted_ms >= login) {
        counters_[kStatLoginTimeouts]++;
        DiscardPending(*c, Reason::kLoginTimeout, c->phase == Phase::kPending ? "no byte in time" : "handshake not done in time");
      }
      continue;
    }
    if (c->phase == Phase::kClosing) {
      if (now_ >= c->close_deadline_ms) FinishClose(*c);
      continue;
    }
    if (idle > 0 && now_ - c->last_receive_ms >= idle) {
      Drop(*c, Reason::kIdle, "silent for " + std::to_string(now_ - c->last_receive_ms) + " ms");
      continue;
    }
    const size_t backlog = c->backlog.bytes();
    // Judged on what a flush left unsent: bytes queued this turn, before the turn's flush, have
    // not been offered to the kernel yet (their stall clock starts at that flush).
    if (stall > 0 && c->unsent > 0 && now_ - c->progress_ms >= stall) {
      Drop(*c, Reason::kStalled, std::to_string(backlog) + " bytes unsent, none taken for " +
                                     std::to_string(now_ - c->progress_ms) + " ms");
      continue;
    }
    // joint.md §7: after a whole period of outbound silence, once anything was sent.
    if (period > 0 && c->keepalive_armed && backlog == 0 && now_ - c->last_send_ms >= period) {
      AppendUnit(*c, kKeepalive, sizeof kKeepalive);
      counters_[kStatFramesOut]++;
      MarkDirty(*c);
    }
  }
  FlushDirty();
}

// ---- handover (relay --workers) ---------------------------------------------------------------

bool Engine::Detach(uint32_t conn, int* fd, std::vector<uint8_t>* held) {
  Handover request;
  request.conn = conn;
  Handover h = Hand(std::move(request));
  if (h.fd < 0) return false;
  *fd = h.fd;
  held->swap(h.bytes);
  return true;
}

uint32_t Engine::Adopt(int fd, const uint8_t* bytes, size_t n, const std::string& ip, int32_t port) {
  if (fd < 0 || n > kMaxAdoptBytes) return 0;
  Handover request;
  request.adopt = true;
  request.fd = fd;
  request.bytes.assign(bytes, bytes + n);
  request.ip = ip;
  request.port = port;
  return Hand(std::move(request)).conn;
}

Engine::Handover Engine::Hand(Handover request) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Only the JavaScript thread hands over and stops: no stop can come between this and the answer.
  if (stopped_ || !thread_.joinable()) return Handover();
  const uint32_t ticket = ++next_ticket_;
  handovers_[ticket] = std::move(request);
  calls_.push_back(Call{CallKind::kHandover, 0, ticket, 0, 0, 0, {}});
  lock.unlock();
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof one);
    (void)ignored;
  }
  lock.lock();
  handed_.wait(lock, [&] { return handovers_[ticket].done; });
  Handover answer = std::move(handovers_[ticket]);
  handovers_.erase(ticket);
  return answer;
}

void Engine::ApplyHandover(uint32_t ticket) {
  Handover h;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = handovers_.find(ticket);
    if (it == handovers_.end()) return;
    h = std::move(it->second);
    it->second.done = false;
  }
  if (h.adopt) DoAdopt(h);
  else DoDetach(h);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Handover& slot = handovers_[ticket];
    slot = std::move(h);
    slot.done = true;
  }
  handed_.notify_all();
}

void Engine::DoDetach(Handover& h) {
  Connection* c = Get(h.conn);
  h.fd = -1;
  // Parsing must be stopped where JavaScript knows it (its COMMAND in hand, or not admitted), with
  // nothing half parsed and nothing owed: then the held input and the kernel's are the whole rest.
  if (c == nullptr || c->phase != Phase::kOpen || c->is_websocket || c->ws || c->parser || c->fd < 0 ||
      !c->backlog.empty() || (c->paused_by & (kPauseCommand | kPauseNotAdmitted)) == 0) {
    return;
  }
  // An event of it not delivered yet (a COMMAND JavaScript has not seen) would be lost.
  const std::vector<int32_t>& records = batch_->records;
  for (size_t i = 1; i < records.size(); i += kEventStride) {
    if (static_cast<uint32_t>(records[i]) == c->id) return;
  }
  // Out of the epoll set before anyone else reads it (a registration outlives a closed duplicate).
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  h.fd = c->fd;
  c->fd = -1;
  h.bytes.swap(c->held);
  if ((c->paused_by & kPauseBackpressure) != 0) counters_[kStatBackpressuredNow]--;
  c->paused_by = 0;
  Release(*c);
  RemoveRoutes(*c);
  // As the Node engine counts a moved connection where it landed: closed by its peer.
  counters_[kStatConnections]--;
  counters_[kStatDisconnects + static_cast<int32_t>(Reason::kPeerClosed)]++;
  FreeConnection(*c);
}

void Engine::DoAdopt(Handover& h) {
  h.conn = 0;
  if (stopping_) return;
  Connection* c = pending_count_ < kMaxPendingConnections ? NewConnection() : nullptr;
  if (c == nullptr) return;
  c->fd = h.fd;
  c->phase = Phase::kPending;
  c->accepted_ms = now_;
  c->remote_ip = h.ip;
  c->remote_port = h.port;
  const int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = c->id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
    c->fd = -1;  // still the caller's
    FreeConnection(*c);
    return;
  }
  c->epoll_mask = EPOLLIN;
  pending_count_++;
  h.conn = c->id;
  h.fd = -1;
  if (h.bytes.empty()) return;
  // As if just read: its first bytes (raw: ACCEPT now; `G`: a WebSocket handshake begins).
  c->last_receive_ms = now_;
  std::vector<uint8_t> first;
  first.swap(h.bytes);
  OnFirstBytes(*c, first.data(), first.size());
  FlushDirty();
}

// ---- events to JavaScript ---------------------------------------------------------------------

void Engine::Emit(int32_t type, uint32_t conn, int32_t a, int32_t b, const uint8_t* bytes, size_t n) {
  EventBatch& batch = *batch_;
  const int32_t offset = static_cast<int32_t>(batch.bytes.size());
  batch.bytes.insert(batch.bytes.end(), bytes, bytes + n);
  const int32_t record[kEventStride] = {type, static_cast<int32_t>(conn), a, b, 0, offset, static_cast<int32_t>(n), 0};
  batch.records.insert(batch.records.end(), record, record + kEventStride);
  batch.count++;
}

void Engine::DeliverBatch() {
  if (batch_->count == 0) return;
  counters_[kStatEventBatches]++;
  events_in_flight_.fetch_add(batch_->count, std::memory_order_relaxed);
  remote_in_flight_.fetch_add(batch_->remote_bytes, std::memory_order_seq_cst);
  sink_->Deliver(batch_.release());
  batch_.reset(new EventBatch());
}

// Interrupt moderation, as a network card's: after a busy turn, let more bytes gather before the
// next epoll_wait, so each recv and sendmsg carries more frames and the thread wakes less often
// (under load most of the relay's CPU is the kernel's cost per syscall and per wakeup, not per
// byte). A call from JavaScript (the wake eventfd, left unread for the epoll_wait after) ends the
// wait early, so commands and shutdown are not delayed by it.
void Engine::WaitToBatch() {
  counters_[kStatBatchWaits]++;
  pollfd wake{wake_fd_, POLLIN, 0};
  const timespec delay{0, static_cast<long>(config_.batch_delay_us * 1000)};
  ppoll(&wake, 1, &delay, nullptr);
}

void Engine::Publish() {
  counters_[kStatPending] = pending_count_;
  counters_[kStatPendingUpgrades] = pending_upgrades_;
  for (int32_t i = 0; i < kStatCount; ++i) published_[i].store(counters_[i], std::memory_order_relaxed);
}

}  // namespace engine
}  // namespace gamewire
#endif  // __linux__
