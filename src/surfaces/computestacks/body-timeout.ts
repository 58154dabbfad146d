import type { FastifyInstance } from 'fastify';
import { PassThrough } from 'node:stream';
import { HttpError } from '../../http/errors.ts';

/**
 * A request whose body has not fully arrived `timeoutMs` after its headers is answered 408
 * (Request Timeout) instead of holding the connection open: the error reaches the surface's
 * renderer like any other.
 */
export function limitBodyArrival(app: FastifyInstance, timeoutMs: number): void {
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.headers['content-length'] === '0' || (request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined)) return payload;
    const timed = new PassThrough();
    const timer = setTimeout(() => {
      payload.unpipe(timed);
      // Still read by the body parser: it answers the 408. Otherwise the request was already answered.
      if (timed.listenerCount('error') > 0) timed.destroy(new HttpError(408, 'request_timeout', 'The request body did not arrive in time.'));
      else timed.destroy();
    }, timeoutMs);
    timer.unref();
    const stop = () => clearTimeout(timer);
    payload.on('error', (error) => timed.destroy(error));
    payload.on('end', stop);
    timed.on('close', stop);
    reply.raw.on('close', stop);
    payload.pipe(timed);
    return timed;
  });
}
