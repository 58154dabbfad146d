import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerKeys } from '../../core/oauth/server-keys.ts';
import { baseUrl } from '../../http/surface.ts';
import { readCookie, setCookie } from './cookies.ts';

const CSRF_COOKIE = 'nimbus_oauth_csrf';
const NONCE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Signed double-submit CSRF protection for the consent form: a random nonce in a cookie, and
 * in the form its HMAC under a key every replica reads from the database. A cross-site page
 * can neither read the cookie nor forge the signature.
 */
export function createCsrf(keys: ServerKeys) {
  const sign = async (nonce: string) => createHmac('sha256', await keys.get('csrf')).update(nonce).digest('base64url');

  return {
    /** The form token for this browser, setting its nonce cookie on first use. */
    async issue(request: FastifyRequest, reply: FastifyReply): Promise<string> {
      let nonce = readCookie(request, CSRF_COOKIE);
      if (!nonce || !NONCE.test(nonce)) {
        nonce = randomBytes(32).toString('base64url');
        setCookie(request, reply, CSRF_COOKIE, nonce);
      }
      return sign(nonce);
    },

    /** Whether a form post carries a token matching its cookie, and comes from this origin when the browser says. */
    async verify(request: FastifyRequest, token: string | undefined): Promise<boolean> {
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== baseUrl(request)) return false;
      const site = request.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
      const nonce = readCookie(request, CSRF_COOKIE);
      if (!nonce || !NONCE.test(nonce) || !token) return false;
      const expected = Buffer.from(await sign(nonce));
      const given = Buffer.from(token);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
