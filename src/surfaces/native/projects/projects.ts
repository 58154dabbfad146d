import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Project, ProjectMember, ProjectService } from '../../../core/projects/project-service.ts';
import { expectedRevision } from '../../../http/conventions/etag.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { renderEvent } from '../events/events.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../pagination.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import { EventBody, EventFilters } from '../wire/events.ts';
import { MemberBody, MemberParams, MembersPost, ProjectBody, ProjectDeleteQuery, ProjectPatch, ProjectPut, ProjectsPost } from '../wire/projects.ts';

const COLLECTION = '/api/projects/projects/';

const renderMember = (m: ProjectMember) => ({ type: m.type, id: m.id, name: m.name, status: m.status });
const render = (request: FastifyRequest) => (p: Project) => ({
  id: p.id,
  name: p.name,
  organization: p.organization_id,
  state: p.state,
  members: p.members.map(renderMember),
  url: `${baseUrl(request)}${COLLECTION}${p.id}/`,
  created_at: p.created_at,
  updated_at: p.updated_at,
});

/** `/api/projects/projects/`: named groupings of an organization's apps, servers, volumes and images, with their members and events. */
export function projectRoutes(app: FastifyTypeBox, projects: ProjectService): void {
  const tags = ['projects'];

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: commonErrors,
    item: ProjectBody,
    render,
    revisions: true,
    list: { summary: 'List projects (of the acting organization and those below it)', filters: { name: Type.Optional(Type.String({ maxLength: 200 })) }, run: projects.list },
    create: { summary: 'Create a project in the acting organization', body: ProjectsPost, location: true, run: async (actor, body) => ({ row: await projects.create(actor, body) }) },
    retrieve: { summary: 'Retrieve a project with its members and its state', run: projects.get },
    update: { summary: 'Rename a project', body: ProjectPatch, replace: { summary: 'Replace a project (its name)', body: ProjectPut }, run: projects.update },
  });

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Delete a project: refused while it holds resources, unless `cascade=true` (its apps are deleted by their tasks; servers, volumes and images are kept)', params: IdParams, querystring: ProjectDeleteQuery, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      const { id } = request.params;
      await projects.remove(request.actor, id, { cascade: request.query.cascade === true, expectedRevision: expectedRevision(request, id) });
      return reply.code(204).send(null);
    },
  });

  app.post(`${COLLECTION}:id/members/`, {
    schema: { tags, summary: "Put an app, server, volume or image of the project's organization in the project (it leaves any other)", params: IdParams, body: MembersPost, response: { 201: MemberBody, ...commonErrors } },
    handler: async (request, reply) => {
      reply.code(201);
      return renderMember(await projects.addMember(request.actor, request.params.id, request.body));
    },
  });

  app.delete(`${COLLECTION}:id/members/:type/:resource/`, {
    schema: { tags, summary: 'Take a resource out of the project (the resource itself is kept)', params: MemberParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await projects.removeMember(request.actor, request.params.id, request.params.type, request.params.resource);
      return reply.code(204).send(null);
    },
  });

  app.get(`${COLLECTION}:id/events/`, {
    schema: { tags, summary: "The project's events and its members', newest first (cursor pagination)", params: IdParams, querystring: listQuerySchema({ type: EventFilters.type }), response: { 200: listResponseSchema(EventBody), ...commonErrors } },
    handler: async (request, reply) => {
      const listRequest = toListRequest({ ...request.query, cursor: request.query.cursor ?? '' });
      return sendList(request, reply, await projects.history(request.actor, request.params.id, listRequest), renderEvent);
    },
  });
}
