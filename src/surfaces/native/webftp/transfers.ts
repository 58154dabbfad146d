import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { ValidationFailed } from '../../../core/errors.ts';
import type { FileTransfer, TransferService } from '../../../core/transfers/transfer-service.ts';
import { acceptRawBodies } from '../../../http/conventions/json-body.ts';
import { baseUrl } from '../../../http/surface.ts';
import { renderServerSummary } from '../summaries.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, computeErrors, ErrorBody, IdParams, Nullable, Timestamp, Uuid } from '../wire/common.ts';
import { ServerSummaryBody } from '../wire/summaries.ts';

const UPLOADS = '/api/webftp/uploads/';
const DOWNLOADS = '/api/webftp/downloads/';

const TransferBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  path: Type.String({ description: "Where in the server; an upload's becomes the file it was written to." }),
  size: Type.Integer({ description: 'Bytes moved; 0 until finished.' }),
  server: ServerSummaryBody,
  user: Type.String({ description: 'The id of the user who asked for it.' }),
  username: Type.String(),
  groupname: Type.String(),
  expires_at: Timestamp,
  upload_url: Type.String(),
  download_url: Type.String(),
  command: Type.String({ description: "A download's check, run as the user first (GET /api/events/commands/<id>/); empty for an upload." }),
  success: Nullable(Type.Boolean()),
  message: Type.String(),
  added_at: Timestamp,
  finished_at: Nullable(Timestamp),
});
const StatusBody = Type.Object({ success: Nullable(Type.Boolean({ description: 'null while the transfer has not finished.' })), message: Type.String() });
const TokenQuery = Type.Object({ token: Type.String({ maxLength: 100 }) });
const Name = (description: string) => Type.String({ maxLength: 4096, description });
const Account = { username: Type.Optional(Type.String({ maxLength: 32 })), groupname: Type.Optional(Type.String({ maxLength: 32 })), work_session: Type.Optional(Type.String({ maxLength: 100 })) };
const BulkTransferBody = Type.Object({ ...TransferBody.properties, path: Type.Array(Type.String(), { description: 'The paths downloaded, each a file or a folder, as one zip.' }) });
const UploadTarget = {
  path: Name('An absolute path in the server: a directory or the file to write.'),
  server: Uuid,
  allow_overwrite: Type.Optional(Type.Boolean()),
  allow_unzip: Type.Optional(Type.Boolean({ description: 'Folders (zip archives unpacked in the server) are not supported yet: true is refused.' })),
  ...Account,
};
const refuseUnzip = (allowUnzip: boolean | undefined) => {
  if (allowUnzip) throw ValidationFailed.field('allow_unzip', 'Folder uploads are not supported yet: upload files.');
};

/**
 * `/api/webftp/`: Alpacon's file transfer. Creating a transfer answers a one-time content URL
 * (no credential but its token, as the CLI PUTs and GETs it plainly); the content goes straight
 * into or out of the server, and `status/` answers how it ended.
 */
export function webftpRoutes(app: FastifyTypeBox, transfers: TransferService): void {
  const tags = ['webftp'];
  const render = (request: FastifyRequest, t: FileTransfer, token?: string) => {
    const content = (collection: string) => (token ? `${baseUrl(request)}${collection}${t.id}/content/?token=${encodeURIComponent(token)}` : '');
    return {
      id: t.id,
      name: t.name,
      path: t.path,
      size: t.bytes ?? 0,
      server: renderServerSummary(t.server),
      user: t.userId ?? '',
      username: t.username,
      groupname: t.groupname,
      expires_at: t.expiresAt,
      upload_url: t.direction === 'upload' ? content(UPLOADS) : '',
      download_url: t.direction === 'download' ? content(DOWNLOADS) : '',
      command: t.commandId ?? '',
      success: t.success,
      message: t.message,
      added_at: t.createdAt,
      finished_at: t.finishedAt,
    };
  };

  app.post(UPLOADS, {
    schema: {
      tags,
      summary: "Upload a file into a server: answers the one-time URL to PUT its content to (at most NIMBUS_TRANSFER_LIMIT bytes)",
      body: Type.Object({ name: Type.String({ maxLength: 255, description: 'The file name, put in `path` when `path` is a directory (or ends with /).' }), ...UploadTarget }),
      response: { 201: TransferBody, ...computeErrors },
    },
    handler: async (request, reply) => {
      const { name, path, server, username, groupname, allow_overwrite, allow_unzip } = request.body;
      refuseUnzip(allow_unzip);
      const { transfer, token } = await transfers.createUpload(request.actor, { name, path, server, username, groupname, overwrite: allow_overwrite ?? false });
      reply.code(201);
      return render(request, transfer, token);
    },
  });

  app.post(`${UPLOADS}bulk/`, {
    schema: {
      tags,
      summary: 'Upload several files into one directory of a server: a transfer, with its one-time URL, per name (in order)',
      body: Type.Object({ names: Type.Array(Type.String({ maxLength: 255 }), { maxItems: 50, description: 'The file names, each put in `path` (a directory).' }), ...UploadTarget }),
      response: { 201: Type.Array(TransferBody), ...computeErrors },
    },
    handler: async (request, reply) => {
      const { names, path, server, username, groupname, allow_overwrite, allow_unzip } = request.body;
      refuseUnzip(allow_unzip);
      const opened = await transfers.createUploads(request.actor, { names, path, server, username, groupname, overwrite: allow_overwrite ?? false });
      reply.code(201);
      return opened.map(({ transfer, token }) => render(request, transfer, token));
    },
  });

  // Alpacon's CLI asks for bulk uploads to be processed once their content is in: here it already is.
  app.post(`${UPLOADS}bulk-upload/`, {
    schema: {
      tags,
      summary: 'Process uploaded files (each was written into the server as it arrived): the transfers',
      body: Type.Object({ ids: Type.Array(Uuid, { maxItems: 50 }) }),
      response: { 200: Type.Array(TransferBody), ...commonErrors },
    },
    handler: async (request) => (await transfers.getUploads(request.actor, request.body.ids)).map((t) => render(request, t)),
  });

  app.post(DOWNLOADS, {
    schema: {
      tags,
      summary: 'Download a file of a server: answers the check command to wait for and the one-time URL to GET its content from',
      body: Type.Object({
        path: Name('An absolute path in the server: a regular file, or a directory with `resource_type` folder.'),
        name: Type.Optional(Type.String({ maxLength: 255 })),
        server: Uuid,
        resource_type: Type.Optional(Type.String({ maxLength: 20, description: '`file` (the default), or `folder`: the directory with everything under it, as a zip.' })),
        ...Account,
      }),
      response: { 201: TransferBody, ...computeErrors },
    },
    handler: async (request, reply) => {
      const { path, server, username, groupname, resource_type } = request.body;
      if (resource_type && resource_type !== 'file' && resource_type !== 'folder') throw ValidationFailed.field('resource_type', `"${resource_type}" is not a valid choice. Choose from: file, folder.`);
      const { transfer, token } = await transfers.createDownload(request.actor, { path, server, username, groupname, folder: resource_type === 'folder' });
      reply.code(201);
      return render(request, transfer, token);
    },
  });

  app.post(`${DOWNLOADS}bulk/`, {
    schema: {
      tags,
      summary: 'Download several files or folders of a server as one zip: answers the check command to wait for and the one-time URL',
      body: Type.Object({ path: Type.Array(Name('An absolute path in the server: a file or a directory.'), { maxItems: 50 }), server: Uuid, ...Account }),
      response: { 201: BulkTransferBody, ...computeErrors },
    },
    handler: async (request, reply) => {
      const { path, server, username, groupname } = request.body;
      const { transfer, token } = await transfers.createBulkDownload(request.actor, { paths: path, server, username, groupname });
      reply.code(201);
      return { ...render(request, transfer, token), path: transfer.paths };
    },
  });

  for (const [collection, direction] of [[UPLOADS, 'upload'], [DOWNLOADS, 'download']] as const) {
    app.get(`${collection}:id/`, {
      schema: { tags, summary: `Retrieve a file ${direction}`, params: IdParams, response: { 200: TransferBody, ...commonErrors } },
      handler: async (request) => render(request, await transfers.get(request.actor, direction, request.params.id)),
    });
    app.get(`${collection}:id/status/`, {
      schema: { tags, summary: `How a file ${direction} ended: success is null until it has`, params: IdParams, response: { 200: StatusBody, ...commonErrors } },
      handler: async (request) => {
        const transfer = await transfers.get(request.actor, direction, request.params.id);
        return { success: transfer.success, message: transfer.message };
      },
    });
  }

  // Alpacon's CLI asks for the upload to be processed once its content is in: here it already is.
  app.get(`${UPLOADS}:id/upload/`, {
    schema: { tags, summary: 'Process an uploaded file (it was written into the server as it arrived): the transfer', params: IdParams, response: { 200: TransferBody, ...commonErrors } },
    handler: async (request) => render(request, await transfers.get(request.actor, 'upload', request.params.id)),
  });

  app.get(`${DOWNLOADS}:id/content/`, {
    config: { auth: false },
    schema: { tags, summary: "A download's content, streamed from the server: the file, or a zip of a folder or of several paths (the URL's token opens it once; 401 when it is not valid, 400 when it cannot be read, 413 over NIMBUS_TRANSFER_LIMIT)", security: [], params: IdParams, querystring: TokenQuery },
    handler: async (request, reply) => {
      const { transfer, stream, done } = await transfers.send(request.params.id, request.query.token);
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => void (bytes += chunk.length));
      stream.once('end', () => void done({ bytes }));
      stream.once('error', (error) => void done({ bytes, error }));
      const filename = transfer.name.replace(/["\\\r\n]/g, '_');
      return reply.type(transfer.kind === 'file' ? 'application/octet-stream' : 'application/zip').header('content-disposition', `attachment; filename="${filename}"`).send(stream);
    },
  });

  // The content of an upload is the one body that is not JSON (and has no 1 MiB limit): its own context.
  app.register(async (child: FastifyTypeBox) => {
    acceptRawBodies(child);
    child.put(`${UPLOADS}:id/content/`, {
      config: { auth: false },
      bodyLimit: transfers.limit,
      schema: { tags, summary: "An upload's content, the raw request body, streamed into the server (the URL's token opens it once)", security: [], params: IdParams, querystring: TokenQuery, response: { 200: StatusBody, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody } },
      handler: async (request) => {
        const declared = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
        const transfer = await transfers.receive(request.params.id, request.query.token, request.raw, declared);
        return { success: transfer.success, message: transfer.message };
      },
    });
  });
}
