import { Type } from 'typebox';
import type { CoreServices } from '../../../core/services.ts';
import { workspaceUrlOf } from '../workspace-url.ts';
import { commonErrors, ErrorBody, ValidationErrorBody } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { EnvBody, LoginBody, SessionBody, WhoamiBody } from '../wire/session.ts';

/** `/api/auth/`: password login into a session token, logout, whoami and the login environment. */
export function sessionRoutes(app: FastifyTypeBox, { auth, users, access }: Pick<CoreServices, 'auth' | 'users' | 'access'>): void {
  const tags = ['auth'];

  app.get('/api/auth/env/', {
    config: { auth: false },
    schema: { tags, summary: 'How to log in here (password login; no external identity provider)', security: [], response: { 200: EnvBody } },
    handler: async () => ({ auth0: { method: 'none' }, login: { methods: ['password'], url: '/api/auth/login/' } }),
  });

  app.post('/api/auth/login/', {
    config: { auth: false },
    schema: { tags, summary: 'Log in with a username and password', security: [], body: LoginBody, response: { 200: SessionBody, 400: ValidationErrorBody, 401: ErrorBody, 429: ErrorBody } },
    handler: async (request) => {
      const session = await auth.login({ requestId: request.id, clientAddress: request.ip }, request.body);
      return { token: session.token, expires_at: session.expiresAt, workspace_url: await workspaceUrlOf(request, access, session.organizationId, { preferHost: true }) };
    },
  });

  app.post('/api/auth/logout/', {
    schema: { tags, summary: 'End the current login session', response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await auth.logout(request.actor);
      return reply.code(204).send(null);
    },
  });

  app.get('/api/auth/whoami/', {
    schema: { tags, summary: 'Who the credential belongs to, and what it may do here', response: { 200: WhoamiBody, ...commonErrors } },
    handler: async (request) => {
      const { actor } = request;
      const me = await users.get(actor, '-');
      return {
        id: me.id,
        username: me.username,
        email: me.email,
        first_name: me.firstName,
        last_name: me.lastName,
        is_staff: me.isStaff,
        is_superuser: me.isSuperuser,
        organization: me.organizationId,
        acting_organization: actor.organizationId,
        credential: { id: actor.principal.credentialId, kind: actor.principal.credentialKind, scopes: [...actor.principal.scopes] },
        permissions: [...actor.permissions].sort(),
        principal_type: 'user',
        auth: { scopes: [...actor.principal.scopes] },
        workspace_url: await workspaceUrlOf(request, access, actor.organizationId),
      };
    },
  });
}
