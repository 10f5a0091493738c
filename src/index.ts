/**
 * gamewire: networking for multiplayer games. The public face of the package.
 *
 * The MM style (tables and polling) is exported flat, as its issue asks
 * (`import { Server, Client, pollEvents, EventType } from 'gamewire'`). The other three styles are
 * exported as namespaces (`peote`, `udp`, `events`) plus their main classes by name, because their
 * limits and helper names would clash; each style also has its own entry
 * (`gamewire/mm`, `gamewire/peote`, `gamewire/udp`, `gamewire/events`, `gamewire/relay`).
 */
export { implementation, implementationOf, addonLoadError, PREFERRED } from './core/index.js';
export type { Component, Implementation } from './core/index.js';

export * from './mm/index.js';

export * as peote from './peote/index.js';
export { PeoteServer, PeoteClient, PeoteBytesOutput, PeoteBytesInput, Reason } from './peote/index.js';
export type { PeoteServerOptions, PeoteClientOptions } from './peote/index.js';

export * as udp from './udp/index.js';
export { UdpPipe, UdpSession } from './udp/index.js';
export type { UdpPipeOptions } from './udp/index.js';

export * as events from './events/index.js';
export { EventServer, EventClient } from './events/index.js';
export type { EventServerOptions, EventClientOptions, Middleware } from './events/index.js';

export * as relay from './relay/index.js';
export { Relay } from './relay/index.js';
export type { RelayOptions } from './relay/index.js';
