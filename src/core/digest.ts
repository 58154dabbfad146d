import crypto from 'node:crypto';

type Encoding = 'hex' | 'base64url';

// `crypto.hash` (Node 20.12+) digests in one call, without the Hash object `createHash` builds:
// it is on every request's path (token look-ups, ETags).
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: Encoding) => string }).hash;

/** The digest of `data` with `algorithm` ('sha1', 'sha256'), in `encoding`. */
export function digest(algorithm: 'sha1' | 'sha256', data: string | Buffer, encoding: Encoding): string {
  return oneShot ? oneShot(algorithm, data, encoding) : crypto.createHash(algorithm).update(data).digest(encoding);
}
