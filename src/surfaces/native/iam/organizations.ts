import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Organization, OrganizationInput, OrganizationService } from '../../../core/organizations/organization-service.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { OrganizationBody, OrganizationPatch, OrganizationPut, OrganizationsPost } from '../wire/organizations.ts';

const COLLECTION = '/api/iam/organizations/';

const render = (request: FastifyRequest) => (o: Organization) => ({
  id: o.id,
  name: o.name,
  slug: o.slug,
  parent: o.parentId,
  url: `${baseUrl(request)}${COLLECTION}${o.id}/`,
  created_at: o.createdAt,
  updated_at: o.updatedAt,
});

/** `/api/iam/organizations/`: the tenancy tree, scoped to the acting organization's subtree. */

const organizationInput = (body: Static<typeof OrganizationPatch>): OrganizationInput => ({ name: body.name, slug: body.slug, parentId: body.parent });
export function organizationRoutes(app: FastifyTypeBox, organizations: OrganizationService): void {
  collectionRoutes(app, {
    path: COLLECTION,
    tags: ['iam'],
    errors: commonErrors,
    item: OrganizationBody,
    render,
    revisions: true,
    list: {
      summary: 'List organizations (yours and its descendants)',
      filters: {
        parent: Type.Optional(Type.String({ maxLength: 200, description: 'Only direct children of this organization.' })),
        slug: Type.Optional(Type.String({ maxLength: 200 })),
        name: Type.Optional(Type.String({ maxLength: 200 })),
      },
      run: organizations.list,
    },
    create: {
      summary: 'Create a sub-organization',
      body: OrganizationsPost,
      location: true,
      run: async (actor, body) => ({ row: await organizations.create(actor, organizationInput(body)) }),
    },
    retrieve: { summary: 'Retrieve an organization', run: organizations.get },
    update: {
      summary: 'Update some fields of an organization',
      body: OrganizationPatch,
      replace: { summary: 'Replace an organization', body: OrganizationPut },
      run: (actor, id, body, options) => organizations.update(actor, id, organizationInput(body), options),
    },
    remove: { summary: 'Delete an organization (refused while it has sub-organizations or users)', ifMatch: true, run: organizations.remove },
  });
}
