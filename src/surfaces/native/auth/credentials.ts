import type { ApiCredential } from '../../../core/credentials/credential-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { CreatedCredentialBody, CredentialBody, CredentialsPost } from '../wire/credentials.ts';

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
      run: async (actor, body) => {
        const { credential, password } = await credentials.generate(actor, { userId: body?.user });
        return { row: credential, extra: { password } };
      },
    },
    retrieve: { summary: 'Retrieve one of your API credentials', run: credentials.get },
    remove: { summary: 'Revoke an API credential and the tokens issued with it', run: credentials.revoke },
  });
}
