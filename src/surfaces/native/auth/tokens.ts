import { Type } from 'typebox';
import type { ApiToken } from '../../../core/tokens/token-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { SCOPE_WILDCARDS, scopeResources } from '../../../core/iam/permissions.ts';
import { aclKindsOf } from '../../../core/token-acl/acl-rules.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { CreatedTokenBody, ExchangeBody, ScopesBody, TokenBody, TokenDuplicatePost, TokensPost } from '../wire/tokens.ts';

function render(token: ApiToken) {
  const expired = token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now();
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    prefix: token.displayPrefix,
    last_characters: token.lastFour,
    enabled: token.revokedAt === null && !expired,
    expires_at: token.expiresAt,
    last_used_at: token.lastUsedAt,
    revoked_at: token.revokedAt,
    created_at: token.createdAt,
  };
}

const COLLECTION = '/api/auth/tokens/';

/** `/api/auth/tokens/`: the caller's personal API tokens, their scopes, and the bearer exchange. */
export function tokenRoutes(app: FastifyTypeBox, { tokens, tokenAcls, bearers }: Pick<CoreServices, 'tokens' | 'tokenAcls' | 'bearers'>): void {
  const tags = ['auth'];

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: commonErrors,
    item: TokenBody,
    render: () => render,
    list: { summary: 'List your API tokens (never their secrets)', filters: { name: Type.Optional(Type.String({ maxLength: 100 })) }, run: tokens.list },
    create: {
      summary: 'Create an API token; its key is shown once',
      body: TokensPost,
      response: CreatedTokenBody,
      run: async (actor, body) => {
        const input = { name: body.name, scopes: body.scopes, expiresAt: body.expires_at };
        const { token, secret } = await tokens.createFor(actor, input);
        return { row: token, extra: { key: secret } };
      },
    },
    retrieve: { summary: 'Retrieve one of your API tokens', run: tokens.get },
    remove: { summary: 'Revoke one of your API tokens (and the bearers exchanged from it)', run: tokens.revokeFor },
  });

  app.post(`${COLLECTION}:id/duplicate/`, {
    schema: {
      tags,
      summary: 'Create a token with the scopes, expiry and ACL rules of one of yours; its key is shown once',
      params: IdParams,
      body: TokenDuplicatePost,
      response: { 201: CreatedTokenBody, ...commonErrors },
    },
    handler: async (request, reply) => {
      const { token, secret } = await tokenAcls.duplicateToken(request.actor, request.params.id, request.body);
      return reply.code(201).send({ ...render(token), key: secret });
    },
  });

  app.get(`${COLLECTION}scopes/`, {
    schema: { tags, summary: 'The scopes a token can carry', response: { 200: ScopesBody, ...commonErrors } },
    handler: async () => ({ resources: scopeResources().map((r) => ({ ...r, acl: aclKindsOf(r.name) })), wildcards: SCOPE_WILDCARDS }),
  });

  app.post(`${COLLECTION}exchange/`, {
    schema: {
      tags,
      summary: 'Exchange the API token you authenticate with (also as Basic with an empty user name) for a one-hour bearer JWT',
      response: { 200: ExchangeBody, ...commonErrors },
    },
    handler: async (request) => {
      const { token, expiresAt } = await bearers.exchange(request.actor);
      return { token, expires_at: expiresAt };
    },
  });
}
