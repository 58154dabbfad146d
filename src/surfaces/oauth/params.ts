import type { FastifyInstance } from 'fastify';
import { OauthError } from '../../core/oauth/oauth-errors.ts';

/**
 * Form bodies (`application/x-www-form-urlencoded`), which RFC 6749 requires of the token,
 * revocation and introspection endpoints and which HTML forms post. Added to the OAuth
 * plugin only: the rest of the API stays JSON-only.
 */
export function acceptFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const params: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(body.toString())) {
      const seen = params[name];
      params[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    done(null, params);
  });
}

/**
 * The request's parameters as single strings (query string or body, form or JSON). A
 * parameter sent twice, or one that is not a string, is refused (RFC 6749 section 3.1).
 */
export function singleParams(source: unknown): Record<string, string | undefined> {
  if (source === undefined || source === null) return {};
  if (typeof source !== 'object' || Array.isArray(source)) throw new OauthError('invalid_request', 'The request parameters must be a form or a JSON object.');
  const params: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(source)) {
    if (Array.isArray(value)) throw new OauthError('invalid_request', `The parameter "${name}" was sent more than once.`);
    if (typeof value !== 'string') throw new OauthError('invalid_request', `The parameter "${name}" must be a string.`);
    // An empty parameter is treated as omitted (RFC 6749 section 3.1).
    if (value !== '') params[name] = value;
  }
  return params;
}
