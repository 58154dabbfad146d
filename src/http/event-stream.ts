import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationFailed } from '../core/errors.ts';

/** How often an idle stream sends a comment, so proxies and clients keep the connection. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * The position a client resumes after: the `Last-Event-ID` header (browsers' EventSource send
 * it on reconnect) or `?last_event_id=`; undefined when neither is given.
 */
export function lastEventIdOf(request: FastifyRequest, what: string): number | undefined {
  const header = request.headers['last-event-id'];
  const given = (typeof header === 'string' ? header : undefined) ?? (request.query as { last_event_id?: string }).last_event_id;
  if (given === undefined || given === '') return undefined;
  if (!/^\d{1,15}$/.test(given.trim())) throw ValidationFailed.field('last_event_id', `Send the ${what} (a whole number).`);
  return Number(given.trim());
}

/**
 * Answers with a Server-Sent Events stream. `open` is called before anything is sent, so its
 * errors (not found, bad input) still get an ordinary error response; each batch it yields is
 * written as `format` renders it, or as a keep-alive comment when that is empty. The stream ends
 * when the batches do or the client goes; HEAD gets the headers only. `open`'s signal is aborted
 * whenever the stream ends, so whatever it holds is given back.
 */
export async function sendEventStream<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  open: (signal: AbortSignal) => Promise<AsyncIterable<T>>,
  format: (batch: T) => string,
): Promise<void> {
  const stop = new AbortController();
  const batches = await open(stop.signal);
  reply.hijack();
  const out = reply.raw;
  out.on('close', () => stop.abort());
  out.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': request.id,
    'x-accel-buffering': 'no',
  });
  if (request.method === 'HEAD') {
    stop.abort();
    out.end();
    return;
  }
  out.write(': stream open\n\n');
  try {
    for await (const batch of batches) {
      const text = format(batch) || ': keep-alive\n\n';
      if (!out.write(text)) await once(out, 'drain', { signal: stop.signal });
    }
  } catch (error) {
    if (!stop.signal.aborted) request.log.error({ err: error, url: request.url }, 'event stream failed');
  } finally {
    out.end();
    stop.abort();
  }
}

/** One Server-Sent Event. */
export const sseEvent = (id: number | string | null, event: string, data: unknown) => `${id === null ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
