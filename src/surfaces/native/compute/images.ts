import { Type } from 'typebox';
import type { Image } from '../../../core/compute/records.ts';
import type { CoreServices } from '../../../core/services.ts';
import { acceptRawBodies, assertMediaType, receiveBody } from '../../../http/conventions/json-body.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { computeErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { resourceUrl, sendCreated } from './shared.ts';
import { ImageBody, ImageCreated, ImagesPost } from '../wire/images.ts';

const COLLECTION = '/api/images/images/';

const ARCHIVE_TYPES = ['application/octet-stream', 'application/gzip', 'application/x-gzip', 'application/x-tar'] as const;

const render = (request: Parameters<typeof resourceUrl>[0]) => (i: Image) => ({
  id: i.id,
  name: i.name,
  arch: i.arch,
  size: i.size_bytes,
  status: i.status,
  source: i.source,
  snapshot: i.snapshot_id,
  error: i.error,
  public: i.organization_id === null,
  organization: i.organization_id,
  url: resourceUrl(request, COLLECTION, i.id),
  created_at: i.created_at,
  updated_at: i.updated_at,
});

/** `/api/images/images/`: the public built-in image and the acting subtree's own. */
export function imageRoutes(app: FastifyTypeBox, { compute }: CoreServices, { uploadLimit }: { uploadLimit: number }): void {
  const { images } = compute;
  const tags = ['images'];

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: computeErrors,
    item: ImageBody,
    render,
    list: { summary: 'List images', filters: { name: Type.Optional(Type.String({ maxLength: 200 })), status: Type.Optional(Type.String({ maxLength: 20 })) }, run: images.list },
    create: {
      summary: 'Make an image from a snapshot (to upload an archive, POST it to upload/)',
      body: ImagesPost,
      response: ImageCreated,
      location: true,
      run: async (actor, body) => { const { image, task } = await images.fromSnapshot(actor, body); return { row: image, extra: { task: task.id } }; },
    },
    retrieve: { summary: 'Retrieve an image', run: images.get },
    remove: { summary: 'Delete an image no server boots from (202 with the task)', accepted: true, run: images.remove },
  });

  // The upload route lives in its own context: the only one whose body is not JSON.
  app.register(async (child: FastifyTypeBox) => {
    acceptRawBodies(child);
    child.post(`${COLLECTION}upload/`, {
      bodyLimit: uploadLimit,
      schema: {
        tags,
        summary: 'Import an image from a root filesystem archive (.tar, .tar.gz) or an OCI image layout archive, sent as the request body',
        querystring: Type.Object({ name: Type.String({ maxLength: 200 }) }),
        response: { 201: ImageCreated, 413: computeErrors[403], 415: computeErrors[403], ...computeErrors },
      },
      handler: async (request, reply) => {
        assertMediaType(request.headers['content-type'], ARCHIVE_TYPES);
        const { image, task } = await images.importUpload(request.actor, { name: request.query.name }, (file) => receiveBody(request.raw, file, uploadLimit, 'NIMBUS_IMAGE_UPLOAD_LIMIT'));
        return sendCreated(request, reply, COLLECTION, image.id, render(request)(image), task.id);
      },
    });
  });
}
