import { Type } from 'typebox';
import type { Actor } from '../../core/actor.ts';
import { NotFound, PermissionDenied } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import type { AccountToken } from '../../core/tokens/account-token-service.ts';
import type { User } from '../../core/users/user-service.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { IdParams, Organization } from './conventions.ts';
import { scalewayTime } from './render.ts';

/** Scaleway's account API: tokens for a password, the caller's organizations and users. */

const TokenPost = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 254 })),
    username: Type.Optional(Type.String({ maxLength: 150 })),
    password: Type.String({ maxLength: 1000 }),
    expires: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const TokenPatch = Type.Object({ expires: Type.Optional(Type.Boolean()), description: Type.Optional(Type.String()) }, { additionalProperties: false });
const OrganizationsQuery = Type.Object({ organization: Organization });

const MAX_ORGANIZATIONS = 100;

function renderUser(user: User, organizations: { id: string; name: string }[]) {
  const fullname = `${user.firstName} ${user.lastName}`.trim();
  return {
    id: user.id,
    email: user.email,
    firstname: user.firstName,
    lastname: user.lastName,
    fullname: fullname || user.username,
    organizations,
    roles: organizations.map((organization) => ({ organization, role: user.role ?? 'member' })),
    ssh_public_keys: [],
    creation_date: scalewayTime(user.createdAt),
    modification_date: scalewayTime(user.updatedAt),
  };
}

export function accountRoutes(app: FastifyTypeBox, { accountTokens, tokens, access, organizations, users }: CoreServices): void {
  /** An organization as `{id, name}`; its name only when the acting organization sees it. */
  async function summary(actor: Actor, id: string) {
    const organization = await organizations.get(actor, id).catch((error) => (error instanceof NotFound ? { id, name: '' } : Promise.reject(error)));
    return { id: organization.id, name: organization.name };
  }

  /** `id` is the secret when the token was named by it (the client holds it already), its record's id otherwise. */
  async function renderToken(actor: Actor, token: AccountToken, shownId = token.id) {
    return {
      id: shownId,
      user_id: token.userId,
      description: token.description,
      roles: { organization: await summary(actor, actor.principal.organizationId), role: 'manager' },
      expires: scalewayTime(token.expiresAt),
      creation_date: scalewayTime(token.createdAt),
      inherits_user_perms: true,
    };
  }

  app.post('/tokens', { config: { auth: false, scalewayFields: { username: 'email' } }, schema: { body: TokenPost } }, async (request, reply) => {
    const context = { requestId: request.id, clientAddress: request.ip };
    const { token, secret } = await accountTokens.create(context, request.body);
    // The new token speaks for its user from now on: its answer is read as that user.
    const principal = await tokens.authenticate(secret);
    const actor: Actor = { principal, ...(await access.actingContext(principal)), ...context };
    return reply.code(201).send({ token: await renderToken(actor, token, secret) });
  });

  // The token making the request shows as the value it was sent as: the legacy CLI checks its
  // login by finding that value here. Other tokens show their record's id, never their secret.
  app.get('/tokens', async (request) => {
    const { actor } = request;
    const own = await accountTokens.list(actor);
    const presented = String(request.headers['x-auth-token']).trim();
    return { tokens: await Promise.all(own.map((token) => renderToken(actor, token, token.id === actor.principal.credentialId ? presented : token.id))) };
  });

  app.get('/tokens/:id', { schema: { params: IdParams } }, async (request) => {
    const token = await accountTokens.get(request.actor, request.params.id);
    return { token: await renderToken(request.actor, token, request.params.id) };
  });

  app.patch('/tokens/:id', { schema: { params: IdParams, body: TokenPatch } }, async (request) => {
    const token = await accountTokens.update(request.actor, request.params.id, request.body);
    return { token: await renderToken(request.actor, token, request.params.id) };
  });

  app.delete('/tokens/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await accountTokens.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });

  app.get('/organizations', { schema: { querystring: OrganizationsQuery } }, async (request) => {
    const { actor } = request;
    const page = await organizations.list(actor, { filters: {}, pagination: { style: 'page', page: 1, pageSize: MAX_ORGANIZATIONS } });
    const members = await users.list(actor, { filters: {}, pagination: { style: 'page', page: 1, pageSize: MAX_ORGANIZATIONS } }).then(
      (result) => result.items,
      // Without user:read the caller still sees itself.
      async (error) => {
        if (!(error instanceof PermissionDenied)) throw error;
        return [await users.get(actor, actor.principal.userId)];
      },
    );
    return {
      organizations: page.items.map((organization) => {
        const summary = { id: organization.id, name: organization.name };
        return { ...summary, users: members.filter((u) => u.organizationId === organization.id).map((u) => renderUser(u, [summary])) };
      }),
    };
  });

  app.get('/users/:id', { schema: { params: IdParams } }, async (request) => {
    const user = await users.get(request.actor, request.params.id);
    return { user: renderUser(user, [await summary(request.actor, user.organizationId)]) };
  });
}
