import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ComputeHost } from '../../backends/compute-host.ts';
import type { Store } from '../../store/database.ts';
import type { FileTransferRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { TokenAclService } from '../token-acl/token-acl-service.ts';
import { isoAfter, isUuid, newId, nowIso } from '../clock.ts';
import type { CommandService } from '../commands/command-service.ts';
import { asDomainError, assertComputeAvailable, onHost, tenantMessage } from '../compute/context.ts';
import type { ServerService } from '../compute/server-service.ts';
import { InvalidState, NotFound, TooLarge, Unauthenticated, ValidationFailed } from '../errors.ts';
import { choiceFilter, runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { goneServer, goneUser, serverSummaries, userSummaries, type ServerSummary, type UserSummary } from '../summaries.ts';
import { hashToken } from '../tokens/token-format.ts';
import { tarToZipEntries } from './archive.ts';
import { zipStream } from './zip.ts';

/** How long a transfer's content URL may wait to be used (once). */
export const TRANSFER_URL_TTL_MS = 10 * 60 * 1000;
const PATH_MAX = 4096;
const NAME_MAX = 255;
/** The most files one bulk upload, or paths one bulk download, may name. */
export const BULK_MAX = 50;

/** A transfer refused because the file is larger than the cap. */
const tooLarge = (limit: number) => new TooLarge(`The file is larger than the limit of ${limit} bytes (NIMBUS_TRANSFER_LIMIT).`, 'webftp_file_too_large');

export type TransferKind = 'file' | 'folder' | 'bulk';

export interface FileTransfer {
  id: string;
  direction: 'upload' | 'download';
  /** `file`; `folder` and `bulk` downloads come as one zip. */
  kind: TransferKind;
  name: string;
  path: string;
  /** A bulk download's paths; otherwise `[path]`. */
  paths: string[];
  server: ServerSummary;
  userId: string | null;
  /** The user who asked for it, as they are now. */
  user: UserSummary | null;
  remoteIp: string;
  username: string;
  groupname: string;
  bytes: number | null;
  commandId: string | null;
  expiresAt: string;
  success: boolean | null;
  message: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface UploadRequest {
  server: string;
  name: string;
  path: string;
  username?: string;
  groupname?: string;
  overwrite: boolean;
}

export interface DownloadRequest {
  server: string;
  path: string;
  username?: string;
  groupname?: string;
  /** A directory, downloaded with everything under it as a zip. */
  folder?: boolean;
}

export interface BulkUploadRequest extends Omit<UploadRequest, 'name'> {
  names: string[];
}

export interface BulkDownloadRequest extends Omit<DownloadRequest, 'path' | 'folder'> {
  paths: string[];
}

const listSpec: ListSpec = {
  filters: {
    server: uuidFilter('server_id', 'server'),
    user: uuidFilter('user_id', 'user'),
    action: choiceFilter('direction', 'action', ['upload', 'download']),
  },
  searchColumns: ['name', 'path'],
  orderings: { added_at: 'created_at', created_at: 'created_at' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

/** The check a download's command runs as the user: each path in `$TRANSFER_PATH_<n>` is there and readable. */
function checkLine(kind: TransferKind, count: number): string {
  const test = kind === 'folder' ? '[ -d "$p" ] && [ -r "$p" ] && [ -x "$p" ]' : kind === 'file' ? '[ -f "$p" ] && [ -r "$p" ]' : '[ -e "$p" ] && [ -r "$p" ]';
  const what = kind === 'folder' ? 'a readable directory' : kind === 'file' ? 'a readable file' : 'readable';
  const names = Array.from({ length: count }, (_, i) => `TRANSFER_PATH_${i}`).join(' ');
  return `for v in ${names}; do eval "p=\\$$v"; if ! { ${test}; }; then echo "$p is not ${what}" >&2; exit 1; fi; done; echo ready`;
}

/** A zip's bytes, failing once more than `limit` have passed. */
async function* capped(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.length;
    if (bytes > limit) throw tooLarge(limit);
    yield chunk;
  }
}

export type TransferService = ReturnType<typeof createTransferService>;

/**
 * File transfer (Alpacon's webftp): a file goes into or out of a running server as one of its
 * users, through a one-time content URL that needs no other credential. Uploads stream the
 * request body into the server; downloads stream the server's file into the response; neither
 * is held in memory or on the host's disk, and both stop at `limit` bytes.
 */
export function createTransferService(deps: { store: Store; host: ComputeHost; servers: Pick<ServerService, 'findVisible'>; commands: Pick<CommandService, 'create'>; acl: Pick<TokenAclService, 'assertFile'>; limit: number }) {
  const { store, host, servers, commands, acl, limit } = deps;
  const { db } = store;

  const visible = (actor: Actor) => db.selectFrom('file_transfers').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function shown(readerPath: string, rows: FileTransferRow[]): Promise<FileTransfer[]> {
    const [summaries, users] = await Promise.all([serverSummaries(db, rows.map((r) => r.server_id)), userSummaries(db, readerPath, rows.map((r) => r.user_id))]);
    return rows.map((r) => ({
      id: r.id,
      direction: r.direction,
      kind: r.kind,
      name: r.name,
      path: r.path,
      paths: r.paths === null ? [r.path] : (JSON.parse(r.paths) as string[]),
      server: summaries.get(r.server_id) ?? goneServer(r.server_id),
      userId: r.user_id,
      user: r.user_id === null ? null : (users.get(r.user_id) ?? goneUser(r.user_id)),
      remoteIp: r.remote_ip,
      username: r.username,
      groupname: r.groupname,
      bytes: r.bytes === null ? null : Number(r.bytes),
      commandId: r.command_id,
      expiresAt: r.token_expires_at,
      success: r.success === null ? null : r.success === 1,
      message: r.message,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
    }));
  }

  function checkNames(fields: Record<string, string | undefined>, names: Record<string, number>): void {
    const errors: Record<string, string[]> = {};
    for (const [field, max] of Object.entries(names)) {
      const value = fields[field] ?? '';
      if (value.length > max || value.includes('\0')) errors[field] = [`Ensure this field has at most ${max} characters and no NUL byte.`];
    }
    if (fields.name !== undefined && (fields.name === '' || fields.name.includes('/') || fields.name === '.' || fields.name === '..')) errors.name = ['A file name without "/".'];
    if (fields.path === '' || !fields.path?.startsWith('/')) errors.path = ['An absolute path in the server.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
  }

  /** The running server of the actor's subtree files move to or from, for an actor who may run commands. */
  async function serverFor(actor: Actor, id: string) {
    assertAllowed(actor, 'command:write');
    const server = await servers.findVisible(actor, id);
    if (server.state !== 'running') throw new InvalidState(server.state, ['running'], `The server is ${server.state}; files move only to and from a running server.`);
    await assertComputeAvailable(host);
    return server;
  }

  /** Token ACLs: a bound token moves files only where its file rules allow, as the account they allow. */
  async function assertPaths(actor: Actor, serverId: string, action: 'upload' | 'download', paths: string[], account: { username?: string; groupname?: string }) {
    for (const path of paths) await acl.assertFile(actor, { serverId, path, action, username: account.username || 'root', groupname: account.groupname ?? '' });
  }

  type OpenFields = { name: string; path: string; paths?: string[]; kind: TransferKind; username?: string; groupname?: string; overwrite: boolean };

  async function open(actor: Actor, server: Awaited<ReturnType<typeof serverFor>>, direction: 'upload' | 'download', fields: OpenFields, commandId?: () => Promise<string>) {
    const token = randomBytes(24).toString('base64url');
    const row: FileTransferRow = {
      id: newId(),
      organization_id: server.organization_id,
      organization_path: server.organization_path,
      server_id: server.id,
      user_id: actor.principal.userId,
      direction,
      kind: fields.kind,
      name: fields.name,
      path: fields.path,
      paths: fields.paths ? JSON.stringify(fields.paths) : null,
      remote_ip: actor.clientAddress,
      username: fields.username || 'root',
      groupname: fields.groupname ?? '',
      overwrite: fields.overwrite ? 1 : 0,
      token_hash: hashToken(token),
      token_expires_at: isoAfter(TRANSFER_URL_TTL_MS),
      used_at: null,
      command_id: commandId ? await commandId() : null,
      bytes: null,
      success: null,
      message: '',
      created_at: nowIso(),
      finished_at: null,
    };
    await db.insertInto('file_transfers').values(row).execute();
    return { transfer: (await shown(actor.organizationPath, [row]))[0]!, token };
  }

  const uploadNames = (request: Omit<UploadRequest, 'name'>, name: string) =>
    checkNames({ name, path: request.path, username: request.username, groupname: request.groupname }, { name: NAME_MAX, path: PATH_MAX, username: 32, groupname: 32 });

  /** An upload waiting for its content at the URL its token opens. */
  async function createUpload(actor: Actor, request: UploadRequest) {
    uploadNames(request, request.name);
    const server = await serverFor(actor, request.server);
    await assertPaths(actor, server.id, 'upload', [request.path], request);
    return open(actor, server, 'upload', { ...request, kind: 'file' });
  }

  /** Several uploads into one directory, each with its own content URL; a bad name refuses them all. */
  async function createUploads(actor: Actor, request: BulkUploadRequest) {
    if (request.names.length === 0 || request.names.length > BULK_MAX) throw ValidationFailed.field('names', `Name from 1 to ${BULK_MAX} files.`);
    for (const name of request.names) uploadNames(request, name);
    const server = await serverFor(actor, request.server);
    await assertPaths(actor, server.id, 'upload', [request.path], request);
    const opened = [];
    for (const name of request.names) opened.push(await open(actor, server, 'upload', { ...request, name, kind: 'file' }));
    return opened;
  }

  /** The uploads named (all of the actor's subtree), as they are: each was written as its content arrived. */
  async function getUploads(actor: Actor, ids: string[]): Promise<FileTransfer[]> {
    if (ids.length === 0 || ids.length > BULK_MAX) throw ValidationFailed.field('ids', `Name from 1 to ${BULK_MAX} uploads.`);
    const found = [];
    for (const id of ids) found.push(await get(actor, 'upload', id));
    return found;
  }

  const downloadNames = (request: Omit<DownloadRequest, 'path'>, path: string) =>
    checkNames({ path, username: request.username, groupname: request.groupname }, { path: PATH_MAX, username: 32, groupname: 32 });

  /** A download opened after its check, run first as a command on the server as the user (Alpacon's CLI waits for it). */
  async function openDownload(actor: Actor, request: Omit<DownloadRequest, 'path'>, fields: { name: string; kind: TransferKind; paths: string[] }) {
    const server = await serverFor(actor, request.server);
    await assertPaths(actor, server.id, 'download', fields.paths, request);
    return open(actor, server, 'download', { ...request, ...fields, path: fields.paths[0]!, paths: fields.kind === 'bulk' ? fields.paths : undefined, overwrite: false }, async () => {
      const [command] = [
        await commands.create(actor, {
          server: server.id,
          line: checkLine(fields.kind, fields.paths.length),
          env: Object.fromEntries(fields.paths.map((path, i) => [`TRANSFER_PATH_${i}`, path])),
          username: request.username,
          groupname: request.groupname,
        }, { transferCheck: true }),
      ];
      return command!.id;
    });
  }

  const baseName = (path: string) => path.replace(/\/+$/, '').split('/').pop() ?? '';

  /** A file, or a folder (`folder`) with everything under it as one zip, streamed by the content URL. */
  async function createDownload(actor: Actor, request: DownloadRequest) {
    downloadNames(request, request.path);
    const name = baseName(request.path);
    if (request.folder && name === '') throw ValidationFailed.field('path', 'A directory below /: the root cannot be downloaded whole.');
    return openDownload(actor, request, { name: request.folder ? `${name}.zip` : name || 'download', kind: request.folder ? 'folder' : 'file', paths: [request.path] });
  }

  /** Several files or folders of one server, as one zip. */
  async function createBulkDownload(actor: Actor, request: BulkDownloadRequest) {
    if (request.paths.length === 0 || request.paths.length > BULK_MAX) throw ValidationFailed.field('path', `Name from 1 to ${BULK_MAX} paths.`);
    for (const path of request.paths) {
      downloadNames(request, path);
      if (baseName(path) === '') throw ValidationFailed.field('path', 'A path below /: the root cannot be downloaded whole.');
    }
    return openDownload(actor, request, { name: 'download.zip', kind: 'bulk', paths: request.paths });
  }

  /** Spends a content URL's token (once, while fresh) and answers its transfer. */
  async function spend(id: string, token: string, direction: 'upload' | 'download'): Promise<FileTransferRow> {
    const refused = () => new Unauthenticated('The transfer URL is not valid: it is used once, within 10 minutes.', 'webftp_url_invalid');
    if (!isUuid(id) || token.length > 100) throw refused();
    const now = nowIso();
    const spent = await db
      .updateTable('file_transfers')
      .set({ used_at: now })
      .where('id', '=', id.toLowerCase())
      .where('direction', '=', direction)
      .where('token_hash', '=', hashToken(token))
      .where('used_at', 'is', null)
      .where('token_expires_at', '>', now)
      .executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) throw refused();
    return db.selectFrom('file_transfers').selectAll().where('id', '=', id.toLowerCase()).executeTakeFirstOrThrow();
  }

  async function finish(id: string, outcome: { success: boolean; message: string; bytes?: number; path?: string }): Promise<void> {
    await db
      .updateTable('file_transfers')
      .set({ success: outcome.success ? 1 : 0, message: outcome.message, bytes: outcome.bytes ?? null, ...(outcome.path ? { path: outcome.path } : {}), finished_at: nowIso() })
      .where('id', '=', id)
      .where('success', 'is', null)
      .execute();
  }

  /** Records a failure in words for the tenant, and throws it as a domain error. */
  async function failed(id: string, error: unknown): Promise<never> {
    const domain = asDomainError(error);
    await finish(id, { success: false, message: tenantMessage(domain) });
    throw domain;
  }

  /** Receives an upload's content (the URL's token opens it once) into the server. */
  async function receive(id: string, token: string, source: Readable, declaredBytes: number | undefined): Promise<FileTransfer> {
    const row = await spend(id, token, 'upload');
    if (declaredBytes !== undefined && declaredBytes > limit) await failed(row.id, tooLarge(limit));
    try {
      const written = await onHost(() =>
        host.servers.writeFile(row.server_id, { path: row.path, name: row.name, username: row.username, groupname: row.groupname || undefined, overwrite: row.overwrite === 1, source, maxBytes: limit, transferId: row.id }),
      );
      await finish(row.id, { success: true, message: `Uploaded ${written.bytes} bytes to ${written.path}.`, bytes: written.bytes, path: written.path });
    } catch (error) {
      await failed(row.id, /larger than the limit/.test((error as Error).message) ? tooLarge(limit) : error);
    }
    return (await shown(row.organization_path, [await db.selectFrom('file_transfers').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()]))[0]!;
  }

  /**
   * A folder's or several paths' content as one zip: each path is archived by tar inside the
   * server, as the user (so paths resolve there), and the archives become the zip as they stream.
   * The first is opened before anything is sent, so a path that cannot be read is refused whole.
   */
  async function zipOf(row: FileTransferRow): Promise<Readable> {
    const paths: string[] = row.paths === null ? [row.path] : JSON.parse(row.paths);
    // The zip is capped at `limit`; each tar (a little larger, with its headers) at twice that.
    const archive = (path: string) => onHost(() => host.servers.readTree(row.server_id, { path, username: row.username, groupname: row.groupname || undefined, maxBytes: 2 * limit }));
    const first = await archive(paths[0]!);
    async function* entries() {
      for (const [i, path] of paths.entries()) yield* tarToZipEntries(i === 0 ? first : await archive(path));
    }
    return Readable.from(capped(zipStream(entries()), limit), { objectMode: false });
  }

  /** A download's content (the URL's token opens it once); `done` records how it ended. */
  async function send(id: string, token: string): Promise<{ transfer: FileTransfer; stream: Readable; done: (outcome: { bytes: number; error?: unknown }) => Promise<void> }> {
    const row = await spend(id, token, 'download');
    let stream: Readable;
    try {
      stream = row.kind === 'file' ? await onHost(() => host.servers.readFile(row.server_id, { path: row.path, username: row.username, groupname: row.groupname || undefined, maxBytes: limit })) : await zipOf(row);
    } catch (error) {
      return failed(row.id, /larger than the limit/.test((error as Error).message) ? tooLarge(limit) : error);
    }
    const done = async ({ bytes, error }: { bytes: number; error?: unknown }) => {
      const from = row.kind === 'bulk' ? `${(JSON.parse(row.paths!) as string[]).length} paths, as a zip` : row.kind === 'folder' ? `${row.path}, as a zip` : row.path;
      if (error === undefined) await finish(row.id, { success: true, message: `Downloaded ${bytes} bytes from ${from}.`, bytes });
      else await finish(row.id, { success: false, message: tenantMessage(asDomainError(error)) });
    };
    return { transfer: (await shown(row.organization_path, [row]))[0]!, stream, done };
  }

  async function get(actor: Actor, direction: 'upload' | 'download', id: string): Promise<FileTransfer> {
    assertAllowed(actor, 'command:read');
    const row = isUuid(id) ? await visible(actor).where('id', '=', id.toLowerCase()).where('direction', '=', direction).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('webftp_transfer', 'No transfer matches the given query.');
    return (await shown(actor.organizationPath, [row]))[0]!;
  }

  /** Every transfer of the actor's subtree, newest first: the log of what moved in and out of its servers. */
  async function list(actor: Actor, request: ListRequest): Promise<ListResult<FileTransfer>> {
    assertAllowed(actor, 'command:read');
    const result = await runList<FileTransferRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await shown(actor.organizationPath, result.items) } as ListResult<FileTransfer>;
  }

  return { createUpload, createUploads, getUploads, createDownload, createBulkDownload, receive, send, get, list, limit };
}
