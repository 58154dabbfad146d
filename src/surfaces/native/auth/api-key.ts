import type { ApiKey } from '../../../core/tokens/api-key-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { ApiKeyBody, CreatedApiKeyBody } from '../wire/api-keys.ts';

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
