import { Type } from 'typebox';
import type { App } from '../../../core/apps/app-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { resourceUrl } from '../compute/shared.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import { AppBody, AppPatch, AppPost, RenamePost, TransferPost } from '../wire/apps.ts';
import type { FastifyTypeBox } from '../types.ts';

export const APPS_COLLECTION = '/api/apps/apps/';

function render(request: Parameters<typeof resourceUrl>[0]) {
  return (a: App) => ({
    id: a.id,
    name: a.name,
    organization: a.organization_id,
    status: a.status,
    stack: a.stack,
    force_https: a.force_https,
    health_check_path: a.health_check_path,
    url: resourceUrl(request, APPS_COLLECTION, a.id),
    web_url: a.web_url,
    last_deployed_at: a.last_deployed_at,
    created_at: a.created_at,
    updated_at: a.updated_at,
  });
}

/** `/api/apps/apps/`: apps of the acting organization and its sub-organizations, by id or by name. */
export function appRoutes(app: FastifyTypeBox, { apps }: Pick<CoreServices['apps'], 'apps'>): void {
  const tags = ['apps'];
  collectionRoutes(app, {
    path: APPS_COLLECTION,
    tags,
    errors: commonErrors,
    item: AppBody,
    render,
    revisions: true,
    list: { summary: 'List apps', filters: { name: Type.Optional(Type.String({ maxLength: 200 })), status: Type.Optional(Type.String({ maxLength: 20 })) }, run: apps.list },
    create: { summary: 'Create an app', body: AppPost, location: true, run: async (actor, body) => ({ row: await apps.create(actor, body) }) },
    retrieve: { summary: 'Retrieve an app (by id or name)', run: apps.get },
    update: { summary: "Change an app's settings", body: AppPatch, run: apps.update },
    remove: { summary: 'Delete an app: its task removes its containers, releases, routes and logs (202 with the task)', accepted: true, ifMatch: true, run: apps.remove },
  });

  app.post(`${APPS_COLLECTION}:id/rename/`, {
    schema: { tags, summary: 'Rename an app (the router follows at once)', params: IdParams, body: RenamePost, response: { 200: AppBody, ...commonErrors } },
    handler: async (request) => render(request)(await apps.rename(request.actor, request.params.id, request.body)),
  });

  app.post(`${APPS_COLLECTION}:id/transfer/`, {
    schema: { tags, summary: 'Move an app to another organization of the acting subtree', params: IdParams, body: TransferPost, response: { 200: AppBody, ...commonErrors } },
    handler: async (request) => {
      const input = { organization_id: request.body.organization };
      return render(request)(await apps.transfer(request.actor, request.params.id, input));
    },
  });
}
