import { Type } from 'typebox';
import { SCOPE_NAMES } from '../../../core/oauth/scopes.ts';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/oauth/applications/: what clients send and receive, in the native API's names. */

const ClientType = Type.Union([Type.Literal('confidential'), Type.Literal('public')], {
  description: 'confidential: a server that keeps a secret; public: a browser or native app (PKCE required, no secret).',
});

export const ApplicationBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  client_id: Type.String({ description: 'Public identifier the client sends to the OAuth endpoints.' }),
  client_type: ClientType,
  redirect_uris: Type.Array(Type.String(), { description: 'Exact redirect URIs; on http://127.0.0.1 and http://[::1] any port matches.' }),
  scopes: Type.Array(Type.String(), { description: `Scopes the application may request: ${SCOPE_NAMES.join(', ')}.` }),
  organization: Uuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const WithSecret = Type.Intersect([
  ApplicationBody,
  Type.Object({ client_secret: Type.Union([Type.String(), Type.Null()], { description: 'Shown only in this response; null for a public client.' }) }),
]);

const writable = {
  name: Type.String({ maxLength: 100 }),
  client_type: Type.String({ maxLength: 20, description: 'confidential (default) or public; fixed at registration.' }),
  redirect_uris: Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 20 }),
  scopes: Type.Array(Type.String({ maxLength: 50 }), { maxItems: 20 }),
};

export const ApplicationsPost = Type.Object({
  name: writable.name,
  client_type: Type.Optional(writable.client_type),
  redirect_uris: writable.redirect_uris,
  scopes: writable.scopes,
});

export const ApplicationPatch = Type.Partial(ApplicationsPost);
