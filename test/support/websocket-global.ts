import { WebSocket } from 'undici';

/**
 * Clients written for browsers (the npm client `scalingo`) take the global WebSocket when they
 * load; Node 20 has none without a flag. Imported before such a client, this gives it undici's,
 * the WHATWG one Node 22 has built in.
 */
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
