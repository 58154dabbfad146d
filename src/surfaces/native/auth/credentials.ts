import { Type } from 'typebox';
import type { ApiCredential } from '../../../core/credentials/credential-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const CredentialBody = Type.Object({
  id: Uuid,
  user: Uuid,
  username: Type.String({ description: 'The HTTP Basic user name.' }),
  enabled: Type.Boolean(),
  scopes: Type.Array(Type.String(), { description: 'What the pair may do: the scopes of the credential that generated it.' }),
  created_at: Timestamp,
  revoked_at: Type.Union([Timestamp, Type.Null()]),
});
const CreatedCredentialBody = Type.Object({ ...CredentialBody.properties, password: Type.String({ description: 'The HTTP Basic password. Shown in this response only.' }) });
const CredentialsPost = Type.Object({ user: Type.Optional(Type.String({ maxLength: 200, description: 'Another user of your organization (needs credential:write); yourself by default.' })) });

const render = (c: ApiCredential) => ({ id: c.id, user: c.userId, username: c.username, enabled: c.revokedAt === null, scopes: c.scopes, created_at: c.createdAt, revoked_at: c.revokedAt });

const COLLECTION = '/api/auth/credentials/';

/** `/api/auth/credentials/`: generated username/password pairs for HTTP Basic. */
export function credentialRoutes(app: FastifyTypeBox, { credentials }: Pick<CoreServices, 'credentials'>): void {
  collectionRoutes(app, {
    path: COLLECTION,
    tags: ['auth'],
    errors: commonErrors,
    item: CredentialBody,
    render: () => render,
    list: { summary: 'List your API credentials (never their passwords)', filters: {}, run: credentials.list },
    create: {
      summary: 'Generate an API credential pair; the previous pair and every token issued with it stop working',
      body: CredentialsPost,
      response: CreatedCredentialBody,
      run: async (actor, body) => { const { credential, password } = await credentials.generate(actor, body ?? {}); return { row: credential, extra: { password } }; },
    },
    retrieve: { summary: 'Retrieve one of your API credentials', run: credentials.get },
    remove: { summary: 'Revoke an API credential and the tokens issued with it', run: credentials.revoke },
  });
}
