/**
 * Limits of the stream listener shared by the relay and the mm Server (`listenStreams`).
 */

/**
 * Milliseconds from accept until the first byte (raw TCP) or the end of the WebSocket upgrade
 * (default 5000; joint.md §7 login timeout). Past it the socket is destroyed. Each server passes
 * its own value (`loginTimeoutMs`, `handshakeTimeoutMs`).
 */
export const LISTENER_HANDSHAKE_TIMEOUT_MS = 5000;

/**
 * Largest inbound WebSocket message (bytes), default 64 KiB: larger is answered with close 1009
 * before the payload is buffered.
 */
export const LISTENER_MAX_WEBSOCKET_PAYLOAD_BYTES = 65536;

/**
 * WebSocket control frames (ping and pong) one connection may send per second (default 100),
 * counted over one-second windows. Past it the connection is closed with code 1008 (policy
 * violation) and the reason "control frame flood". A browser cannot send pings at all and a
 * `ws` client pings at most every few seconds, so 100 is far above any real client; what it
 * stops is a peer keeping the server busy with control frames that no other limit counts.
 */
export const WS_MAX_CONTROL_FRAMES_PER_SECOND = 100;
