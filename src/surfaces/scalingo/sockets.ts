import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { DomainError, RateLimited } from '../../core/errors.ts';

/** Scalingo's streams send `{"event": "ping"}` (logs) or `{"type": "ping"}` (deployments) in silence, so proxies keep the socket. */
export const PING_MS = 20_000;
/** How often a stream wakes in silence: its access is checked again at least this often. */
export const IDLE_MS = 1_000;
/** A reader this far behind is dropped rather than buffered for without end. */
const BUFFERED_MAX = 4 * 1024 * 1024;

/** Close codes: the stream's access ended (the link expired, the collaborator was removed), or a reader too slow; a failure; too many streams. */
const CLOSE_ENDED = 1008;
const CLOSE_FAILED = 1011;
const CLOSE_TRY_LATER = 1013;

/** `ws://` or `wss://` for an `http(s)://` URL of this surface. */
export const socketUrl = (url: string) => url.replace(/^http/, 'ws');

/** A request that came as a WebSocket upgrade (the route's `wsHandler` will take it). */
export const isUpgrade = (request: FastifyRequest) => (request as FastifyRequest & { ws?: boolean }).ws === true;

/**
 * Delivers a live stream on a socket: each batch's messages as JSON text frames, `ping` after
 * `PING_MS` of silence. The stream stops when the socket closes; when the stream ends first
 * (its access is gone), the socket is closed with `endedReason`.
 */
export async function sendBatches<T>(socket: WebSocket, open: (signal: AbortSignal) => Promise<AsyncIterable<T[]>>, options: { render: (item: T) => object | Promise<object>; ping: object; endedReason: string }): Promise<void> {
  const reading = new AbortController();
  socket.on('close', () => reading.abort());
  let sentAt = Date.now();
  const send = (message: object) => {
    sentAt = Date.now();
    socket.send(JSON.stringify(message));
  };
  let batches: AsyncIterable<T[]>;
  try {
    batches = await open(reading.signal);
  } catch (error) {
    // Checked before the upgrade; what changed since (or the stream bound) ends the socket, saying why.
    const message = error instanceof DomainError ? error.message : 'The stream failed.';
    return socket.close(error instanceof RateLimited ? CLOSE_TRY_LATER : error instanceof DomainError ? CLOSE_ENDED : CLOSE_FAILED, closeReason(message));
  }
  try {
    for await (const batch of batches) {
      if (socket.readyState !== socket.OPEN) break;
      for (const item of batch) send(await options.render(item));
      if (!batch.length && Date.now() - sentAt >= PING_MS) send(options.ping);
      if (socket.bufferedAmount > BUFFERED_MAX) return socket.close(CLOSE_ENDED, 'This reader is too far behind the stream.');
    }
    if (socket.readyState === socket.OPEN) socket.close(CLOSE_ENDED, options.endedReason);
  } catch {
    if (socket.readyState === socket.OPEN) socket.close(CLOSE_FAILED, 'The stream failed.');
  } finally {
    reading.abort();
  }
}

/** A close frame's reason holds at most 123 bytes. */
const closeReason = (text: string) => Buffer.from(text).subarray(0, 123).toString('utf8').replace(/\uFFFD$/, '');
