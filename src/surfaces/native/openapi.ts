import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { NIMBUS_VERSION } from '../../version.ts';

/**
 * OpenAPI 3.1 generated from the route schemas (served at `/api/schema/`), and the Swagger UI
 * at `/api/docs/`, whose assets ship inside the package: nothing is fetched from elsewhere.
 */
export async function addOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Nimbus API',
        version: NIMBUS_VERSION,
        description:
          'The native Nimbus API. Authenticate with `Authorization: token="<key>"` (or `Bearer`, `X-Auth-Token`, `MC-Api-Key`). ' +
          'Errors are `{"detail","code"}`, validation errors `{"field": ["message"]}`. Lists paginate with `page`/`page_size` or `cursor`.',
      },
      components: {
        securitySchemes: {
          token: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'token="<key>"' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ token: [] }, { bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true, uiConfig: { url: '/api/schema/' } as never });
}
