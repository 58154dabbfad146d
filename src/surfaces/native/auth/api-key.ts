import { Type } from 'typebox';
import type { ApiKey } from '../../../core/tokens/api-key-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { commonErrors, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const ApiKeyBody = Type.Object({
  id: Uuid,
  prefix: Type.String({ description: 'The first characters of the key, for recognising it.' }),
  last_characters: Type.String({ description: 'The last four characters of the key.' }),
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most once a minute.' }),
});
const CreatedApiKeyBody = Type.Object({ ...ApiKeyBody.properties, key: Type.String({ description: 'The key itself (send it as `MC-Api-Key`). Shown in this response only.' }) });

const render = (k: ApiKey) => ({ id: k.id, prefix: k.displayPrefix, last_characters: k.lastFour, created_at: k.createdAt, last_used_at: k.lastUsedAt });

const PATH = '/api/auth/api-key/';

/** `/api/auth/api-key/`: the caller's one API key (CloudMC's `MC-Api-Key`). */
export function apiKeyRoutes(app: FastifyTypeBox, { apiKeys }: Pick<CoreServices, 'apiKeys'>): void {
  const tags = ['auth'];

  app.get(PATH, {
    schema: { tags, summary: 'Your API key (never the key itself); 404 until one is generated', response: { 200: ApiKeyBody, ...commonErrors } },
    handler: async (request) => render(await apiKeys.get(request.actor)),
  });

  app.post(PATH, {
    schema: { tags, summary: 'Generate your API key; the previous one stops working at once, and the new one is shown only here', response: { 201: CreatedApiKeyBody, ...commonErrors } },
    handler: async (request, reply) => {
      const { apiKey, secret } = await apiKeys.regenerate(request.actor);
      reply.code(201);
      return { ...render(apiKey), key: secret };
    },
  });
}
