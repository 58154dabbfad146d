import type { FastifyInstance } from 'fastify';
import { NIMBUS_VERSION } from '../../version.ts';
import { AVAILABLE_API_VERSIONS, CURRENT_API_VERSION } from './versions.ts';

/** `GET /api/version` (the docs write `/version`: both answer), for any credential carrying `public`. */
export function versionRoutes(app: FastifyInstance): void {
  const version = async () => ({ version: NIMBUS_VERSION, api_latest_version: CURRENT_API_VERSION, api_available_versions: AVAILABLE_API_VERSIONS });
  app.get('/api/version', { config: { computestacksScope: 'public' } }, version);
  app.get('/version', { config: { computestacksScope: 'public' } }, version);
}
