import type { FastifyRequest } from 'fastify';
import type { AccessService } from '../../core/iam/access-service.ts';
import { baseUrl } from '../../http/surface.ts';
import { workspaceUrl } from '../../http/workspace.ts';

/**
 * Where a client reaches an organization (Alpacon's `workspace_url`): its workspace endpoint
 * when they are configured (NIMBUS_BASE_DOMAIN), else the address this request came to.
 */
export async function workspaceUrlOf(request: FastifyRequest, access: Pick<AccessService, 'slugOf'>, organizationId: string, { preferHost = false } = {}): Promise<string> {
  if (!request.server.workspaces) return baseUrl(request);
  // A login names the workspace it came through; an actor, the organization it acts in.
  const slug = (preferHost ? request.workspace : undefined) ?? (await access.slugOf(organizationId));
  return (slug && workspaceUrl(request, slug)) || baseUrl(request);
}
