import type { FastifyInstance, FastifyRequest } from 'fastify';
import { digest } from '../../core/digest.ts';
import { PreconditionFailed } from '../../core/errors.ts';

/** The ETag of a stored resource: its revision, which every change increments. */
export function revisionEtag(id: string, revision: number): string {
  return `"${id.slice(0, 8)}.${revision}"`;
}

/**
 * `If-Match` for a write to one resource: undefined when absent or `*`, the revision it names
 * otherwise. A tag that is not one of ours, or a weak one, can never match: 412.
 */
export function expectedRevision(request: FastifyRequest, id: string): number | undefined {
  const header = request.headers['if-match'];
  if (!header || header.trim() === '*') return undefined;
  for (const tag of header.split(',').map((t) => t.trim())) {
    const match = /^"([0-9a-f]{8})\.(\d+)"$/i.exec(tag);
    if (match && id.toLowerCase().startsWith(match[1]!.toLowerCase())) return Number(match[2]);
  }
  throw new PreconditionFailed();
}

function matchesAny(header: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}

/**
 * Every successful GET gets an ETag (a resource's revision, or a hash of the body), and a
 * matching `If-None-Match` turns it into a 304 with no body.
 */
export function addEntityTags(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) return done(null, payload);
    let etag = reply.getHeader('etag') as string | undefined;
    if (!etag) {
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return done(null, payload);
      etag = `"${digest('sha1', payload, 'base64url')}"`;
      reply.header('etag', etag);
    }
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch && matchesAny(ifNoneMatch, etag)) {
      reply.code(304);
      reply.removeHeader('content-length');
      reply.removeHeader('content-type');
      return done(null, '');
    }
    done(null, payload);
  });
}
