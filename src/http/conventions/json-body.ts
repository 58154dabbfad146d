import type { FastifyInstance } from 'fastify';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpError } from '../errors.ts';
import { locateExcessiveNesting, locateJsonSyntaxError, type JsonSyntaxError } from './json-syntax.ts';

/** Deeper than any request the API takes; far shallower than what would exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * JSON is the only request body the API accepts: any other media type is a 415 (Fastify's own
 * check once the default parsers are gone), a body over the limit a 413, and broken JSON a 400
 * that says where it broke, as is JSON nested deeper than `MAX_JSON_DEPTH`. An empty body reads
 * as no body at all.
 */
export function acceptJsonBodiesOnly(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const parse = (_request: unknown, body: string | Buffer, done: (err: Error | null, value?: unknown) => void) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    const tooDeep = locateExcessiveNesting(text, MAX_JSON_DEPTH);
    if (tooDeep) return done(parseError(tooDeep));
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const found = locateJsonSyntaxError(text);
      done(found ? parseError(found) : new HttpError(400, 'parse_error', `JSON parse error - ${(error as Error).message}`));
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parse);
  app.addContentTypeParser(/^application\/[\w.+-]+\+json$/, { parseAs: 'string' }, parse);
}

/** `Expecting value: line 1 column 7 (char 6)`, as DRF says it, so the client can find the mistake. */
function parseError(found: JsonSyntaxError): HttpError {
  return new HttpError(400, 'parse_error', `JSON parse error - ${found.message}: line ${found.line} column ${found.column} (char ${found.offset})`);
}

/**
 * The one exception to JSON-only bodies: a route that receives a file (an image archive) reads
 * the raw request stream itself. Registered in a child context holding only such routes: the
 * body is left unread for the handler, which checks its media type with `assertMediaType`.
 */
export function acceptRawBodies(child: FastifyInstance): void {
  child.removeAllContentTypeParsers();
  child.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
}

/** A raw-body route's media type check: 415 naming what it takes. */
export function assertMediaType(contentType: string | undefined, accepted: readonly string[]): void {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!accepted.includes(type)) throw new HttpError(415, 'unsupported_media_type', `Unsupported media type "${contentType ?? ''}" in request. Send ${accepted.join(', ')}.`);
}

/** Writes a raw request body to `file`, refusing (413) past `limit` bytes (the `setting`), whatever Content-Length claimed. */
export async function receiveBody(raw: IncomingMessage, file: string, limit: number, setting: string): Promise<void> {
  const tooLarge = () => new HttpError(413, 'request_too_large', `The archive is larger than the limit of ${limit} bytes (${setting}).`);
  if (Number(raw.headers['content-length'] ?? 0) > limit) throw tooLarge();
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done(received > limit ? tooLarge() : null, chunk);
    },
  });
  await pipeline(raw, counter, fs.createWriteStream(file, { mode: 0o600 }));
}
