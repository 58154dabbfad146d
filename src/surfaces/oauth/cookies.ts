import type { FastifyReply, FastifyRequest } from 'fastify';
import { baseUrl } from '../../http/surface.ts';

/** The OAuth pages' cookies are sent only to `/api/oauth/`: no other route ever sees them. */
const COOKIE_PATH = '/api/oauth/';

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** HttpOnly, SameSite=Lax, and Secure whenever the public URL is https (directly, or as a trusted proxy says). */
export function setCookie(request: FastifyRequest, reply: FastifyReply, name: string, value: string, maxAgeSeconds?: number): void {
  const attributes = [`${name}=${value}`, `Path=${COOKIE_PATH}`, 'HttpOnly', 'SameSite=Lax'];
  if (maxAgeSeconds !== undefined) attributes.push(`Max-Age=${maxAgeSeconds}`);
  if (baseUrl(request).startsWith('https://')) attributes.push('Secure');
  const existing = reply.getHeader('set-cookie');
  const cookies = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  reply.header('set-cookie', [...cookies, attributes.join('; ')]);
}
