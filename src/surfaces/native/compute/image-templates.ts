import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { Type } from 'typebox';
import type { ImageTemplate, ImageTemplateInput, ImageTemplateService } from '../../../core/image-templates/image-template-service.ts';
import { collectionRoutes } from '../collection-routes.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors } from '../wire/common.ts';
import { ImageTemplateBody, ImageTemplatePatch, ImageTemplatesPost } from '../wire/image-templates.ts';
import { resourceUrl } from './shared.ts';

const COLLECTION = '/api/images/templates/';

const render = (request: FastifyRequest) => (t: ImageTemplate) => ({
  id: t.id,
  name: t.name,
  description: t.description,
  role: t.role,
  role_class: t.role_class,
  image: t.image_id,
  command: t.command,
  min_cpu_millis: t.min_cpu_millis,
  min_memory: t.min_memory_bytes,
  registry_path: t.registry_path,
  registry_tag: t.registry_tag,
  variables: t.variables,
  active: t.active,
  can_scale: t.can_scale,
  organization: t.organization_id,
  revision: t.revision,
  url: resourceUrl(request, COLLECTION, t.id),
  created_at: t.created_at,
  updated_at: t.updated_at,
});

/** The native body as core's input. */
function input({ image, min_memory, ...rest }: Static<typeof ImageTemplatePatch>): ImageTemplateInput {
  return { ...rest, ...(image !== undefined ? { image_id: image } : {}), ...(min_memory !== undefined ? { min_memory_bytes: min_memory } : {}) };
}

/** `/api/images/templates/`: what a container runs from an image (its command, minimums, variables). */
export function imageTemplateRoutes(app: FastifyTypeBox, templates: ImageTemplateService): void {
  collectionRoutes(app, {
    path: COLLECTION,
    tags: ['images'],
    errors: commonErrors,
    item: ImageTemplateBody,
    render,
    revisions: true,
    list: { summary: 'List image templates', filters: { name: Type.Optional(Type.String({ maxLength: 200 })), role_class: Type.Optional(Type.String({ maxLength: 50 })) }, run: templates.list },
    create: { summary: 'Create an image template', body: ImageTemplatesPost, location: true, run: async (actor, body) => ({ row: await templates.create(actor, input(body)) }) },
    retrieve: { summary: 'Retrieve an image template', run: templates.get },
    update: { summary: 'Change an image template', body: ImageTemplatePatch, run: (actor, id, body, options) => templates.update(actor, id, input(body), options) },
    remove: { summary: 'Delete an image template', ifMatch: false, run: templates.remove },
  });
}
