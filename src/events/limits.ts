/**
 * Defaults and limits of the authoritative-event style (neteria.md §2). Every one is a default
 * that the EventServer / EventClient options can override, unless it is marked a format fact.
 */

/** Server UDP port (neteria.md §2); also the client's default target and discovery port. */
export const DEFAULT_SERVER_PORT = 40080;

/** Lowest default client port (inclusive); the original picks a random port in [50000, 60000). */
export const CLIENT_PORT_MIN = 50000;
/** Highest default client port (exclusive). */
export const CLIENT_PORT_MAX = 60000;
/**
 * Random ports tried before the client gives up binding (count). A random port in the default
 * range may be taken; past this many EADDRINUSE failures `listen()` rejects with the last one.
 */
export const CLIENT_BIND_ATTEMPTS_COUNT = 8;

/**
 * Largest datagram sent or accepted (bytes), a format fact: the original reads at most 10240
 * bytes (neteria.md §1). Sending more is a RangeError; a larger datagram received is dropped.
 */
export const MAX_DATAGRAM_BYTES = 10240;

/** Protocol version sent in OHAI / OHAI Client (neteria.md §2). */
export const PROTOCOL_VERSION = '1.0.3';

/**
 * Time to wait for an answer before resending (ms), 2.0 s as the original on both sides
 * (neteria.md §9). Tests use 50-100 ms.
 */
export const RETRY_TIMEOUT_MS = 2000;

/** Resends after the first send (count): 1 send + 4 resends, as the original (neteria.md §9). */
export const MAX_RETRIES = 4;

/**
 * Distinct cuuids the server admits (count), 50 as the original. Exact: the original admits 51
 * (K7); we admit at most this many. Past it a new REGISTER gets BYE REGISTER; re-registering a
 * known cuuid always succeeds.
 */
export const REGISTRATION_LIMIT = 50;

/**
 * Idle time after which a registration expires (ms), default 10 min (K5). Any valid datagram
 * from the registered address counts as activity. Long, because original clients send no
 * keepalive: a client silent for longer must re-register (its EVENTs get BYE EVENT).
 */
export const REGISTRATION_IDLE_MS = 10 * 60 * 1000;

/**
 * Registrations one source address (IP and port) may hold (count), default 1: a Neteria client
 * is one socket with one cuuid. A REGISTER with a new cuuid from an address at this cap replaces
 * that address's oldest registration (the client restarted with a new id), so one socket can
 * never own more than this many slots (issue 14: 60 REGISTERs from one socket filled the registry).
 */
export const MAX_REGISTRATIONS_PER_ADDRESS_COUNT = 1;

/**
 * Registrations one source IP may hold (count), default 10: five addresses are needed to fill
 * the default registry of 50, and a LAN of up to 10 players behind one NAT fits. Past it a
 * REGISTER with a new cuuid (or moving one here) gets BYE REGISTER.
 */
export const MAX_REGISTRATIONS_PER_IP_COUNT = 10;

/**
 * How long an unproven registration is safe from eviction (ms), default 30 s. A registration is
 * proven once its client acknowledged (OK EVENT / OK NOTIFY) a verdict or notification sent to
 * its address, showing it receives there. When the registry is full, a new client evicts the
 * oldest unproven registration older than this (`onExpire` is called for it); proven ones are
 * never evicted, only expired by `registrationIdleMs`. 30 s lets a new client send an event and
 * acknowledge its verdict through every retry (5 × 2 s) before it can be displaced.
 */
export const UNPROVEN_GRACE_MS = 30_000;

/**
 * Largest reply credit one address may bank (bytes), default 64 KiB. Every datagram the server
 * sends except NOTIFY (OHAI Client, OK/BYE REGISTER, BYE EVENT, verdicts and their resends) is
 * paid from the destination's credit, which only bytes received from that address earn: the
 * server never sends an address more bytes than it received from it (issue 14: a spoofed
 * registration turned the server into a 2.9x reflector). A reply the credit cannot pay is
 * withheld and counted (`stats.repliesWithheld`). A real client earns far more than it spends
 * (an EVENT is about 190 bytes, its verdict about 60).
 */
export const MAX_REPLY_CREDIT_BYTES = 64 * 1024;

/**
 * Addresses without a registration whose reply credit and OHAI rate are tracked (count),
 * default 4096. Past it the oldest entry is forgotten: its credit is lost (so it can send
 * less, never more) and its OHAI bucket starts full again.
 */
export const MAX_TRACKED_ADDRESSES_COUNT = 4096;

/**
 * OHAI answers per source IP per second (count), default 1 with a burst of
 * `OHAI_REPLY_BURST_COUNT` (4). A client discovers once; a flood of OHAIs, spoofed or not, gets
 * at most this many answers (each also paid from reply credit). Past it OHAI is dropped without
 * reply (`stats.ohaiLimited`).
 */
export const OHAI_REPLIES_PER_SECOND = 1;

/** Depth of the per-IP OHAI bucket (count), default 4. */
export const OHAI_REPLY_BURST_COUNT = 4;

/** Ceiling of the expiry sweep period (ms); the sweep runs every min(idle / 4, this). */
export const EXPIRY_SWEEP_MAX_MS = 60_000;

/**
 * Margin added to (maxRetries + 1) × retryTimeoutMs to get how long a judged event id is
 * remembered (ms), default 10 s (K1). Covers a client whose timeout is longer than ours and
 * datagrams delayed in the network.
 */
export const JUDGED_RETENTION_MARGIN_MS = 10_000;

/**
 * Judged event ids remembered per client (count), default 4096 (K1). An id is kept until the
 * retention time has passed, so a duplicate or late copy is answered with the stored judgement
 * and never judged or executed twice. When a client has this many ids younger than the
 * retention time, its new EVENTs are dropped without reply (it resends or times out): this
 * bounds memory and is the per-client event rate limit (4096 ids / 20 s ≈ 200 events/s by
 * default).
 */
export const RECENT_EVENT_WINDOW_COUNT = 4096;

/**
 * Events a client may have waiting for a judgement at once (count), default 1024. Past it
 * `event()` rejects with `GW_ERR_TOO_MANY_PENDING` instead of sending.
 */
export const MAX_PENDING_EVENTS_COUNT = 1024;

/**
 * Entries kept in each of the client's polled collections (rollbacks, confirmations, notifies)
 * before the oldest is dropped and counted (count), default 4096. The original lets them grow
 * for ever; poll them with `take*()` to empty them.
 */
export const MAX_RECORDS_COUNT = 4096;

/**
 * Servers the client keeps in `servers` (count), default 256. While a discovery runs, every
 * `OHAI Client` answer is recorded by its source address, which a LAN peer or a spoofer can vary
 * at will; past this bound the least recently answering server is forgotten, so the map and a
 * discovery's result stay bounded.
 */
export const MAX_DISCOVERED_SERVERS_COUNT = 256;

/**
 * NOTIFY ids the client remembers for de-duplication (count), default 4096, independent of the
 * `notifies` collection so that taking notifies does not make a late duplicate look new.
 */
export const NOTIFY_DEDUP_WINDOW_COUNT = 4096;

/**
 * Notifications a server may have awaiting OK NOTIFY at once (count), default 8192 over all
 * clients. Past it `notify()` throws a RangeError (the application outpaces delivery).
 */
export const MAX_PENDING_NOTIFIES_COUNT = 8192;

/**
 * Debug lines about dropped input per second (count), default 10 (K8: rate-limited logging).
 * Lines past it are counted and the count is reported with the next line.
 */
export const DROP_LOG_LINES_PER_SECOND = 10;

/** Nesting depth the JSON serialiser accepts (levels), as a guard against runaway structures. */
export const MAX_JSON_DEPTH = 256;
