import fs from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { acceptRawBodies, receiveBody } from '../../http/conventions/json-body.ts';
import { surfaceUrl } from '../../http/surface.ts';

type SourceParams = { Params: { id: string }; Querystring: { token?: string } };

const SOURCE_PATH = /\/v1\/sources\/([0-9a-f-]{36})\/download$/;

/** A source's URLs: the token in them is the capability to upload or to read that one source. */
const sourceUrl = (app: FastifyInstance, request: FastifyRequest, id: string, action: 'upload' | 'download', token: string) =>
  surfaceUrl(app, request, `/v1/sources/${id}/${action}?token=${encodeURIComponent(token)}`);

/**
 * The source a deployment's `source_url` names, when it is a download URL this installation gave
 * (whatever host or prefix the client reached it by: the token in it is what proves it); null for
 * any other URL. Nimbus never fetches a URL it is given, so no deployment can make it reach an
 * address of its network.
 */
export function ownSource(sourceUrl: string): { id: string; token: string } | null {
  let url: URL;
  try {
    url = new URL(sourceUrl);
  } catch {
    return null;
  }
  const id = SOURCE_PATH.exec(url.pathname)?.[1];
  const token = url.searchParams.get('token');
  return id && token ? { id, token } : null;
}

/**
 * `POST /v1/sources`: where `scalingo deploy <archive>` uploads its archive (a PUT, no credential:
 * the URL is the capability; streamed to disk under `NIMBUS_APP_SOURCE_LIMIT`) and the URL its
 * deployment then names as `source_url`. Both work for an hour.
 */
export function sourceRoutes(app: FastifyInstance, { apps }: Pick<CoreServices, 'apps'>, { sourceLimit }: { sourceLimit: number }) {
  const { sources } = apps;

  app.post('/v1/sources', async (request, reply) => {
    const made = await sources.create(request.actor);
    return reply.code(201).send({
      source: { upload_url: sourceUrl(app, request, made.id, 'upload', made.uploadToken), download_url: sourceUrl(app, request, made.id, 'download', made.downloadToken) },
    });
  });

  app.register(async (child) => {
    acceptRawBodies(child);
    child.put<SourceParams>('/v1/sources/:id/upload', { config: { auth: false }, bodyLimit: sourceLimit }, async (request, reply) => {
      await sources.upload(request.params.id, String(request.query.token ?? ''), (file) => receiveBody(request.raw, file, sourceLimit, 'NIMBUS_APP_SOURCE_LIMIT'));
      return reply.code(200).send();
    });
  });

  app.get<SourceParams>('/v1/sources/:id/download', { config: { auth: false } }, async (request, reply) => {
    const file = sources.downloadable(request.params.id, String(request.query.token ?? ''));
    return reply.type('application/octet-stream').header('content-length', fs.statSync(file).size).send(fs.createReadStream(file));
  });
}
