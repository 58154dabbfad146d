import type { FastifyRequest } from 'fastify';
import type { Actor, Principal } from '../core/actor.ts';
import type { PresentedCredential, PrincipalResolver } from '../core/auth/principals.ts';
import type { AccessService } from '../core/iam/access-service.ts';
import { NotFound, Unauthenticated } from '../core/errors.ts';
import './workspace.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the surface's authentication on routes that require it. */
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** false for public routes (health, login...). Default: authentication required. */
    auth?: boolean;
  }
}

/**
 * The ways a surface accepts a credential: `Authorization` schemes (`token` is
 * `token="<key>"`, `token=<key>` or `Token <key>`; `basic` is an API credential pair, or an
 * empty user name with a token as the password) and headers holding a bare token
 * (`x-auth-token`, `mc-api-key`).
 */
export interface CredentialCarriers {
  authorization: readonly ('token' | 'bearer' | 'basic')[];
  headers: readonly string[];
}

const SCHEMES = {
  token: [/^token\s*=\s*"([^"]*)"$/i, /^token\s*[=\s]\s*(\S+)$/i],
  bearer: [/^bearer\s+(\S+)$/i],
};
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
 * The credential the request carries in one of the surface's carriers; null when none is
 * present. An `Authorization` header in a scheme the surface does not accept, or a malformed
 * one, is refused rather than ignored.
 */
export function readCredential(headers: FastifyRequest['headers'], carriers: CredentialCarriers): PresentedCredential | null {
  const authorization = headers.authorization?.trim();
  // A surface that takes no Authorization scheme leaves the header to whoever else reads it.
  if (authorization && carriers.authorization.length) {
    for (const scheme of carriers.authorization) {
      if (scheme === 'basic') {
        const basic = readBasic(authorization);
        if (basic === null) throw new Unauthenticated('Invalid basic header. Credentials not correctly base64 encoded.', 'authentication_failed');
        if (basic) return basic.username === '' ? { kind: 'token', value: basic.password } : { kind: 'basic', ...basic };
        continue;
      }
      for (const pattern of SCHEMES[scheme]) {
        const token = pattern.exec(authorization);
        if (token) return { kind: 'token', value: token[1]! };
      }
    }
    throw new Unauthenticated('Invalid authorization header. Use: Authorization: token="<key>".', 'authentication_failed');
  }
  for (const name of carriers.headers) {
    const value = headers[name];
    if (typeof value === 'string' && value.trim()) return { kind: 'token', value: value.trim() };
  }
  return null;
}

/** The request's principal, from the credential it carries; a request without one is unauthenticated. */
export async function authenticatePrincipal(request: FastifyRequest, carriers: CredentialCarriers, principals: PrincipalResolver): Promise<Principal> {
  const credential = readCredential(request.headers, carriers);
  if (!credential) throw new Unauthenticated();
  return principals.principalFor(credential);
}

/** The sub-organization a request asks to act in with `?org_id=`, when it names one. */
export function requestedOrganization(request: FastifyRequest): string | undefined {
  const requested = (request.query as Record<string, unknown> | undefined)?.org_id;
  return typeof requested === 'string' && requested !== '' ? requested : undefined;
}

type ActorServices = { principals: PrincipalResolver; access: Pick<AccessService, 'actingContext' | 'organizationIdBySlug'> };

/**
 * The organization a request's host names as a workspace (`<slug>.<region>.<base domain>`),
 * when it names one; an unknown slug is a 404, as an unknown `org_id` is.
 */
async function workspaceOrganization(request: FastifyRequest, services: ActorServices): Promise<string | undefined> {
  if (!request.workspace) return undefined;
  const id = await services.access.organizationIdBySlug(request.workspace);
  if (!id) throw new NotFound('organization', 'No organization matches the given query.');
  return id;
}

/**
 * Sets the request's actor: the principal its credential resolves to, the organization it acts
 * in (the one `organizationId` names, else the workspace the host names, else its own) and its
 * effective permissions there. The actor can resolve itself again the same way, for requests
 * that stay open.
 */
export async function authenticateActor(request: FastifyRequest, carriers: CredentialCarriers, services: ActorServices, organizationId?: string): Promise<void> {
  const principal = await authenticatePrincipal(request, carriers, services.principals);
  request.actor = await actorFor(request, principal, carriers, services, organizationId ?? (await workspaceOrganization(request, services)));
}

/**
 * Moves an authenticated request's actor into the organization its body names (read after
 * authentication), reusing the principal rather than resolving the credential a second time.
 */
export async function actInOrganization(request: FastifyRequest, carriers: CredentialCarriers, services: ActorServices, organizationId: string): Promise<void> {
  request.actor = await actorFor(request, request.actor.principal, carriers, services, organizationId);
}

async function actorFor(request: FastifyRequest, principal: Principal, carriers: CredentialCarriers, services: ActorServices, organizationId?: string): Promise<Actor> {
  const acting = await services.access.actingContext(principal, organizationId);
  const reauthenticate = async (): Promise<Actor> =>
    actorFor(request, await authenticatePrincipal(request, carriers, services.principals), carriers, services, organizationId);
  return { principal, ...acting, requestId: request.id, clientAddress: request.ip, reauthenticate };
}
