import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { everything } from '../../core/listing.ts';
import { PERSONAL_TOKEN_PREFIXES } from '../../core/tokens/token-format.ts';
import type { ApiToken, TokenInput } from '../../core/tokens/token-service.ts';
import { SELF, type User } from '../../core/users/user-service.ts';
import { Unauthenticated } from '../../core/errors.ts';
import { readBasic } from '../../http/auth.ts';
import { surfaceUrl } from '../../http/surface.ts';

type AuthServices = Pick<CoreServices, 'auth' | 'tokens' | 'bearers' | 'users'>;

/** Scalingo's tokens are `tk-us-…`. */
const PREFIX = PERSONAL_TOKEN_PREFIXES.scalingo;

/** A token as Scalingo shows it; the secret only when it was just made. */
function renderToken(token: ApiToken, secret?: string) {
  return {
    id: token.id,
    name: token.name,
    created_at: token.createdAt,
    last_used_at: token.lastUsedAt,
    // A token is never re-issued in place: renewing makes a new one.
    issued_at: token.createdAt,
    ...(secret ? { token: secret } : {}),
  };
}

function renderUser(user: User) {
  return {
    id: user.id,
    uuid: user.id,
    username: user.username,
    email: user.email,
    fullname: `${user.firstName} ${user.lastName}`.trim(),
    created_at: user.createdAt,
  };
}

/** `{"token": {"name"}}` as the docs say, or `{"name"}` as the JS client sends it. */
function tokenInput(body: unknown): TokenInput {
  const root = (body ?? {}) as Record<string, unknown>;
  const token = typeof root.token === 'object' && root.token !== null ? (root.token as Record<string, unknown>) : root;
  return { name: typeof token.name === 'string' ? token.name : undefined };
}

/**
 * Scalingo's authentication API, on the same surface as its API: tokens made with a password
 * (Basic `username:password`) or with a credential, exchanged for one-hour JWT bearers, listed,
 * renewed and deleted; the user itself; and the one region this installation is.
 */
export function authRoutes(app: FastifyInstance, services: AuthServices, options: { region: string; authenticate: (request: FastifyRequest) => Promise<void> }) {
  const { auth, tokens, bearers, users } = services;

  // A password in Basic makes a token for its user; otherwise the request's credential does.
  app.post('/v1/tokens', { config: { auth: false } }, async (request, reply) => {
    const input = tokenInput(request.body);
    const basic = readBasic(request.headers.authorization?.trim() ?? '');
    if (basic === null) throw new Unauthenticated('Invalid basic header. Credentials not correctly base64 encoded.', 'authentication_failed');
    let made;
    if (basic && basic.username !== '') {
      made = await auth.issueToken({ requestId: request.id, clientAddress: request.ip }, basic, input, PREFIX);
    } else {
      await options.authenticate(request);
      made = await tokens.createFor(request.actor, input, PREFIX);
    }
    return reply.code(201).send({ token: renderToken(made.token, made.secret) });
  });

  app.post('/v1/tokens/exchange', async (request) => ({ token: (await bearers.exchange(request.actor)).token }));

  app.get('/v1/tokens', async (request) => ({
    tokens: (await everything(tokens.list, request.actor)).filter((token) => !token.revokedAt).map((token) => renderToken(token)),
  }));

  app.patch<{ Params: { id: string } }>('/v1/tokens/:id/renew', async (request) => {
    const renewed = await tokens.renewFor(request.actor, request.params.id);
    return { token: renderToken(renewed.token, renewed.secret) };
  });

  app.delete<{ Params: { id: string } }>('/v1/tokens/:id', async (request, reply) => {
    await tokens.revokeFor(request.actor, request.params.id);
    return reply.code(204).send();
  });

  app.get('/v1/users/self', async (request) => ({ user: renderUser(await users.get(request.actor, SELF)) }));

  // The API and the dashboard of the region are this surface: clients that pick their API by region find it here.
  app.get('/v1/regions', { config: { auth: false } }, async (request) => {
    const root = surfaceUrl(app, request, '');
    return { regions: [{ name: options.region, display_name: options.region, api: root, database_api: null, dashboard: root, ssh: null, default: true }] };
  });
}
