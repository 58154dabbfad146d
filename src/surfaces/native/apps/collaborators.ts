import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../../core/apps/app-services.ts';
import type { Collaborator } from '../../../core/apps/collaborator-service.ts';
import { baseUrl } from '../../../http/surface.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import { AppItemParams, CollaborationAccept, CollaborationAccepted, CollaboratorBody, CollaboratorInvited, CollaboratorPost, CollaboratorsBody } from '../wire/apps.ts';
import type { FastifyTypeBox } from '../types.ts';
import { APPS_COLLECTION } from './apps.ts';

/** Collaborators of an app (`/api/apps/apps/<id or name>/collaborators/`) and accepting an invitation (`/api/apps/collaborations/accept/`). */
export function appCollaboratorRoutes(app: FastifyTypeBox, { collaborators }: Pick<AppServices, 'collaborators'>): void {
  const tags = ['apps'];
  const COLLABORATORS = `${APPS_COLLECTION}:id/collaborators/`;
  const render = (request: FastifyRequest) => (c: Collaborator) => ({
    id: c.id, app: c.app_id, email: c.email, username: c.username, status: c.status, invited_by: c.invited_by,
    url: `${baseUrl(request)}${APPS_COLLECTION}${c.app_id}/collaborators/${c.id}/`, created_at: c.created_at, updated_at: c.updated_at,
  });

  app.get(COLLABORATORS, {
    schema: { tags, summary: "The app's collaborators and pending invitations (the app's organization only)", params: IdParams, response: { 200: CollaboratorsBody, ...commonErrors } },
    handler: async (request) => ({ collaborators: (await collaborators.list(request.actor, request.params.id)).map(render(request)) }),
  });

  app.post(COLLABORATORS, {
    schema: {
      tags,
      summary: 'Invite someone by email to this app only; the answer holds the invitation token, shown only here',
      params: IdParams,
      body: CollaboratorPost,
      response: { 201: CollaboratorInvited, ...commonErrors },
    },
    handler: async (request, reply) => {
      const { collaborator, token } = await collaborators.invite(request.actor, request.params.id, request.body);
      const body = { ...render(request)(collaborator), invitation_token: token };
      return reply.code(201).header('location', body.url).send(body);
    },
  });

  app.get(`${COLLABORATORS}:item/`, {
    schema: { tags, summary: 'A collaborator', params: AppItemParams, response: { 200: CollaboratorBody, ...commonErrors } },
    handler: async (request) => render(request)(await collaborators.get(request.actor, request.params.id, request.params.item)),
  });

  app.delete(`${COLLABORATORS}:item/`, {
    schema: { tags, summary: 'Remove a collaborator, or withdraw an invitation: their access ends at once', params: AppItemParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await collaborators.remove(request.actor, request.params.id, request.params.item);
      return reply.code(204).send(null);
    },
  });

  app.post('/api/apps/collaborations/accept/', {
    schema: {
      tags,
      summary: "Accept an invitation to an app, signed in as the person it was sent to (the same email address)",
      body: CollaborationAccept,
      response: { 200: CollaborationAccepted, ...commonErrors },
    },
    handler: async (request) => {
      const { collaborator, app: shared } = await collaborators.accept(request.actor, request.body);
      return { collaborator: render(request)(collaborator), app: { id: shared.id, name: shared.name, url: `${baseUrl(request)}${APPS_COLLECTION}${shared.id}/` } };
    },
  });
}
