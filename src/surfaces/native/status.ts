import type { FastifyTypeBox } from './types.ts';
import { CURRENT_API_VERSION, SUPPORTED_API_VERSIONS } from './api-version.ts';
import { NIMBUS_VERSION } from '../../version.ts';
import { commonErrors } from './wire/common.ts';
import { StatusBody, VersionBody } from './wire/status.ts';

/** `/api/version/` (public) and `/api/status/`, which clients use to check their token. */
export function statusRoutes(app: FastifyTypeBox): void {
  app.get('/api/version/', {
    config: { auth: false },
    schema: { tags: ['status'], summary: 'Server and API versions', security: [], response: { 200: VersionBody } },
    handler: async () => ({ version: NIMBUS_VERSION, api_versions: SUPPORTED_API_VERSIONS, current_api_version: CURRENT_API_VERSION }),
  });

  app.get('/api/status/', {
    schema: { tags: ['status'], summary: 'Service status for the calling credential', response: { 200: StatusBody, ...commonErrors } },
    handler: async (request) => ({
      status: 'ok',
      version: NIMBUS_VERSION,
      api_version: request.apiVersion,
      server_time: new Date().toISOString(),
      user: { id: request.actor.principal.userId, username: request.actor.principal.username },
      organization: { id: request.actor.organizationId },
    }),
  });
}
