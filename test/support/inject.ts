import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Readable } from 'node:stream';

export interface BoundedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json(): any;
}

/**
 * A request through the whole stack that also returns for responses that never end by design
 * (event streams): their body is whatever arrived within `streamMs`, then the stream is closed
 * as a client going away would.
 */
export async function injectBounded(app: FastifyInstance, options: InjectOptions, streamMs = 300): Promise<BoundedResponse> {
  const response = await app.inject({ ...options, payloadAsStream: true });
  const stream = response.stream() as Readable;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  if (String(response.headers['content-type']).startsWith('text/event-stream')) {
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, streamMs))]);
    stream.destroy();
  } else {
    await ended;
  }
  const body = Buffer.concat(chunks).toString('utf8');
  return { statusCode: response.statusCode, headers: response.headers, body, json: () => JSON.parse(body) };
}
