import type { FastifyRequest } from 'fastify';
import type { Actor, Principal } from '../core/actor.ts';
import { Unauthenticated } from '../core/errors.ts';
import type { AccessService } from '../core/iam/access-service.ts';
import type { CoreServices } from '../core/services.ts';
import { looksLikeJwt } from '../core/tokens/bearer-service.ts';
import { parseToken } from '../core/tokens/token-format.ts';

/** A credential as presented, before it is verified. */
export type Credential = { kind: 'token'; value: string } | { kind: 'basic'; username: string; password: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on routes that require authentication. */
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** false for public routes (health, login...). Default: authentication required. */
    auth?: boolean;
  }
}

const TOKEN_QUOTED = /^token\s*=\s*"([^"]*)"$/i;
const TOKEN_BARE = /^token\s*[=\s]\s*(\S+)$/i;
const BEARER = /^bearer\s+(\S+)$/i;
const BASIC = /^basic\s+([A-Za-z0-9+/=]+)$/i;

/**
 * An `Authorization: Basic` header's pair: undefined when the header is not Basic, null when
 * what it encodes has no `user:password` colon.
 */
export function readBasic(authorization: string): { username: string; password: string } | null | undefined {
  const basic = BASIC.exec(authorization);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Every auth carrier the surfaces accept, read into one credential: `Authorization: token="..."`,
 * `token=...`, `Token ...`, `Bearer ...`, `Basic ...`, `X-Auth-Token` (Scaleway) and
 * `MC-Api-Key` (CloudMC). Null when none is present; a malformed header is refused.
 */
export function readCredential(headers: FastifyRequest['headers']): Credential | null {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const token = TOKEN_QUOTED.exec(authorization) ?? TOKEN_BARE.exec(authorization) ?? BEARER.exec(authorization);
    if (token) return { kind: 'token', value: token[1]! };
    const basic = readBasic(authorization);
    if (basic === null) throw new Unauthenticated('Invalid basic header. Credentials not correctly base64 encoded.', 'authentication_failed');
    if (basic) {
      // An empty user name with a token as the password is the token-exchange convention.
      return basic.username === '' ? { kind: 'token', value: basic.password } : { kind: 'basic', ...basic };
    }
    throw new Unauthenticated('Invalid authorization header. Use: Authorization: token="<key>".', 'authentication_failed');
  }
  const headerToken = headers['x-auth-token'] ?? headers['mc-api-key'];
  if (typeof headerToken === 'string' && headerToken.trim()) return { kind: 'token', value: headerToken.trim() };
  return null;
}

export interface Authenticator {
  principalFor(credential: Credential): Promise<Principal>;
  actingContext: AccessService['actingContext'];
}

export function createAuthenticator(services: Pick<CoreServices, 'tokens' | 'bearers' | 'credentials' | 'access' | 'oauth'>): Authenticator {
  const { tokens, bearers, credentials, access, oauth } = services;
  return {
    async principalFor(credential) {
      if (credential.kind === 'basic') return credentials.authenticate(credential.username, credential.password);
      if (looksLikeJwt(credential.value)) return bearers.authenticate(credential.value);
      // OAuth access tokens live with their grants; every other kind is an API token.
      return parseToken(credential.value) === 'oauth_access' ? oauth.server.authenticateAccessToken(credential.value) : tokens.authenticate(credential.value);
    },
    actingContext: access.actingContext,
  };
}

/**
 * Resolves the request's actor: its principal, the organization it acts in (its own, or the
 * sub-organization `?org_id=` names) and its effective permissions there. The actor can resolve
 * itself again the same way, for requests that stay open.
 */
export async function authenticateRequest(request: FastifyRequest, authenticator: Authenticator): Promise<void> {
  const credential = readCredential(request.headers);
  if (!credential) throw new Unauthenticated();
  const requested = (request.query as Record<string, unknown> | undefined)?.org_id;
  const organizationId = typeof requested === 'string' && requested !== '' ? requested : undefined;
  const resolve = async (): Promise<Actor> => {
    const principal = await authenticator.principalFor(credential);
    const acting = await authenticator.actingContext(principal, organizationId);
    return { principal, ...acting, requestId: request.id, clientAddress: request.ip, reauthenticate: resolve };
  };
  request.actor = await resolve();
}
