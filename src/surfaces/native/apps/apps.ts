import { Type } from 'typebox';
import type { App } from '../../../core/apps/app-service.ts';
import { NAME_LENGTH, STACKS } from '../../../core/apps/rules.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { resourceUrl } from '../compute/shared.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

export const APPS_COLLECTION = '/api/apps/apps/';

const AppBody = Type.Object({
  id: Uuid,
  name: Type.String({ description: 'Also the host name the router serves the app at, under the apps domain.' }),
  organization: Uuid,
  status: Type.String({ description: 'new, building, running, stopped, crashed, restarting, scaling, booting, or deleting.' }),
  stack: Type.String({ description: STACKS.join(' or ') }),
  force_https: Type.Boolean(),
  url: Type.String({ description: 'This resource.' }),
  web_url: Type.String({ description: 'Where the router serves the app.' }),
  last_deployed_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const Name = Type.String({ maxLength: 200, description: `${NAME_LENGTH.min} to ${NAME_LENGTH.max} lowercase letters, digits and hyphens; unique on the installation.` });
const Stack = Type.String({ maxLength: 50, description: `${STACKS.join(' or ')} (default nodejs).` });
const AppPost = Type.Object({ name: Name, stack: Type.Optional(Stack), force_https: Type.Optional(Type.Boolean()) });
const AppPatch = Type.Object({ stack: Type.Optional(Stack), force_https: Type.Optional(Type.Boolean()) });
const RenamePost = Type.Object({ new_name: Name, current_name: Type.Optional(Type.String({ maxLength: 200, description: 'When given, must be the current name (a confirmation).' })) });
const TransferPost = Type.Object({ organization: Type.String({ maxLength: 200, description: 'An organization of the acting subtree.' }) });

function render(request: Parameters<typeof resourceUrl>[0]) {
  return (a: App) => ({
    id: a.id,
    name: a.name,
    organization: a.organization_id,
    status: a.status,
    stack: a.stack,
    force_https: a.force_https,
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
    handler: async (request) => render(request)(await apps.transfer(request.actor, request.params.id, request.body)),
  });
}
