import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Environment, EnvironmentMember } from '../../../core/environments/environment-service.ts';
import type { ServiceConnection } from '../../../core/environments/service-connections.ts';
import type { CoreServices } from '../../../core/services.ts';
import { baseUrl } from '../../../http/surface.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest, type ListQuery } from '../pagination.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, IdParams, onePage, OnePage } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { ConnectionBody, EnvironmentBody, EnvironmentPatch, EnvironmentPut, EnvironmentsPost, MemberBody, MemberParams, MembersPost } from '../wire/environments.ts';

const COLLECTION = '/api/iam/environments/';
const CONNECTIONS = '/api/iam/service-connections/';

const render = (request: FastifyRequest) => (e: Environment) => ({
  id: e.id,
  name: e.name,
  description: e.description,
  organization: e.organizationId,
  service_connection: e.serviceConnectionId,
  url: `${baseUrl(request)}${COLLECTION}${e.id}/`,
  created_at: e.createdAt,
  updated_at: e.updatedAt,
});
const renderMember = (m: EnvironmentMember) => ({ id: m.id, user: m.userId, username: m.username, role: m.role, created_at: m.createdAt });
const renderConnection = (c: ServiceConnection) => ({ id: c.id, code: c.code, name: c.name, type: c.type });

/**
 * `/api/iam/environments/` (projects inside an organization, bound to a service connection, with
 * their members) and `/api/iam/service-connections/` (the services environments use).
 */

export function environmentRoutes(app: FastifyTypeBox, { environments, serviceConnections }: Pick<CoreServices, 'environments' | 'serviceConnections'>): void {
  const tags = ['iam'];
  const memberFilters = { role: Type.Optional(Type.String({ maxLength: 50 })) };

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: commonErrors,
    item: EnvironmentBody,
    render,
    revisions: true,
    list: {
      summary: 'List environments (of the acting organization and those below it)',
      filters: {
        name: Type.Optional(Type.String({ maxLength: 200 })),
        organization: Type.Optional(Type.String({ maxLength: 200 })),
        service_connection: Type.Optional(Type.String({ maxLength: 200 })),
      },
      run: environments.list,
    },
    create: {
      summary: 'Create an environment; you become its owner member',
      body: EnvironmentsPost,
      location: true,
      run: async (actor, body) => {
        const input = { name: body.name, description: body.description, organizationId: body.organization, serviceConnectionId: body.service_connection };
        return { row: await environments.create(actor, input) };
      },
    },
    retrieve: { summary: 'Retrieve an environment', run: environments.get },
    update: { summary: "Change an environment's name or description", body: EnvironmentPatch, replace: { summary: 'Replace an environment', body: EnvironmentPut }, run: environments.update },
    remove: { summary: 'Delete an environment (refused while servers or volumes belong to it)', run: environments.remove },
  });

  app.get(`${COLLECTION}:id/members/`, {
    schema: { tags, summary: "An environment's members and their roles", params: IdParams, querystring: listQuerySchema(memberFilters), response: { 200: listResponseSchema(MemberBody), ...commonErrors } },
    handler: async (request, reply) => sendList(request, reply, await environments.listMembers(request.actor, request.params.id, toListRequest(request.query as ListQuery)), renderMember),
  });

  app.post(`${COLLECTION}:id/members/`, {
    schema: { tags, summary: 'Add a user of your organization to an environment, or change its role there', params: IdParams, body: MembersPost, response: { 201: MemberBody, ...commonErrors } },
    handler: async (request, reply) => {
      reply.code(201);
      const input = { userId: request.body.user, role: request.body.role };
      return renderMember(await environments.addMember(request.actor, request.params.id, input));
    },
  });

  app.delete(`${COLLECTION}:id/members/:user/`, {
    schema: { tags, summary: 'Take a user out of an environment', params: MemberParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await environments.removeMember(request.actor, request.params.id, request.params.user);
      return reply.code(204).send(null);
    },
  });

  app.get(CONNECTIONS, {
    schema: { tags, summary: 'The service connections environments are made on', response: { 200: OnePage(ConnectionBody), ...commonErrors } },
    handler: async (request) => onePage(serviceConnections.list(request.actor).map(renderConnection)),
  });

  app.get(`${CONNECTIONS}:id/`, {
    schema: { tags, summary: 'Retrieve a service connection', params: IdParams, response: { 200: ConnectionBody, ...commonErrors } },
    handler: async (request) => renderConnection(serviceConnections.get(request.actor, request.params.id)),
  });
}
