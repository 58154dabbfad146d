import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ComputeHost } from '../../backends/compute-host.ts';
import type { Store } from '../../store/database.ts';
import type { FileTransferRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isoAfter, isUuid, newId, nowIso } from '../clock.ts';
import type { CommandService } from '../commands/command-service.ts';
import { asDomainError, assertComputeAvailable, onHost, tenantMessage } from '../compute/context.ts';
import type { ServerService } from '../compute/server-service.ts';
import { InvalidState, NotFound, TooLarge, Unauthenticated, ValidationFailed } from '../errors.ts';
import { goneServer, serverSummaries, type ServerSummary } from '../summaries.ts';
import { hashToken } from '../tokens/token-format.ts';

/** How long a transfer's content URL may wait to be used (once). */
export const TRANSFER_URL_TTL_MS = 10 * 60 * 1000;
const PATH_MAX = 4096;
const NAME_MAX = 255;

/** A transfer refused because the file is larger than the cap. */
const tooLarge = (limit: number) => new TooLarge(`The file is larger than the limit of ${limit} bytes (NIMBUS_TRANSFER_LIMIT).`, 'webftp_file_too_large');

export interface FileTransfer {
  id: string;
  direction: 'upload' | 'download';
  name: string;
  path: string;
  server: ServerSummary;
  userId: string | null;
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
}

export type TransferService = ReturnType<typeof createTransferService>;

/**
 * File transfer (Alpacon's webftp): a file goes into or out of a running server as one of its
 * users, through a one-time content URL that needs no other credential. Uploads stream the
 * request body into the server; downloads stream the server's file into the response; neither
 * is held in memory or on the host's disk, and both stop at `limit` bytes.
 */
export function createTransferService(deps: { store: Store; host: ComputeHost; servers: Pick<ServerService, 'findVisible'>; commands: Pick<CommandService, 'create'>; limit: number }) {
  const { store, host, servers, commands, limit } = deps;
  const { db } = store;

  const visible = (actor: Actor) => db.selectFrom('file_transfers').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function shown(rows: FileTransferRow[]): Promise<FileTransfer[]> {
    const summaries = await serverSummaries(db, rows.map((r) => r.server_id));
    return rows.map((r) => ({
      id: r.id,
      direction: r.direction,
      name: r.name,
      path: r.path,
      server: summaries.get(r.server_id) ?? goneServer(r.server_id),
      userId: r.user_id,
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

  async function open(actor: Actor, direction: 'upload' | 'download', fields: { server: string; name: string; path: string; username?: string; groupname?: string; overwrite: boolean }, commandId?: (serverId: string) => Promise<string>) {
    assertAllowed(actor, 'command:write');
    const server = await servers.findVisible(actor, fields.server);
    if (server.state !== 'running') throw new InvalidState(server.state, ['running'], `The server is ${server.state}; files move only to and from a running server.`);
    await assertComputeAvailable(host);
    const token = randomBytes(24).toString('base64url');
    const row: FileTransferRow = {
      id: newId(),
      organization_id: server.organization_id,
      organization_path: server.organization_path,
      server_id: server.id,
      user_id: actor.principal.userId,
      direction,
      name: fields.name,
      path: fields.path,
      username: fields.username || 'root',
      groupname: fields.groupname ?? '',
      overwrite: fields.overwrite ? 1 : 0,
      token_hash: hashToken(token),
      token_expires_at: isoAfter(TRANSFER_URL_TTL_MS),
      used_at: null,
      command_id: commandId ? await commandId(server.id) : null,
      bytes: null,
      success: null,
      message: '',
      created_at: nowIso(),
      finished_at: null,
    };
    await db.insertInto('file_transfers').values(row).execute();
    return { transfer: (await shown([row]))[0]!, token };
  }

  /** An upload waiting for its content at the URL its token opens. */
  async function createUpload(actor: Actor, request: UploadRequest) {
    checkNames({ name: request.name, path: request.path, username: request.username, groupname: request.groupname }, { name: NAME_MAX, path: PATH_MAX, username: 32, groupname: 32 });
    return open(actor, 'upload', request.path.length ? request : { ...request, path: '/' });
  }

  /**
   * A download: its check runs first as a command on the server, as the user (Alpacon's CLI
   * waits for that command), then the content URL streams the file.
   */
  async function createDownload(actor: Actor, request: DownloadRequest) {
    checkNames({ path: request.path, username: request.username, groupname: request.groupname }, { path: PATH_MAX, username: 32, groupname: 32 });
    const name = request.path.replace(/\/+$/, '').split('/').pop() || 'download';
    return open(actor, 'download', { ...request, name, overwrite: false }, async (serverId) => {
      const [command] = [
        await commands.create(actor, {
          server: serverId,
          line: 'if [ -f "$TRANSFER_PATH" ] && [ -r "$TRANSFER_PATH" ]; then echo ready; else echo "$TRANSFER_PATH is not a readable file" >&2; exit 1; fi',
          env: { TRANSFER_PATH: request.path },
          username: request.username,
          groupname: request.groupname,
        }),
      ];
      return command!.id;
    });
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
    return (await shown([await db.selectFrom('file_transfers').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()]))[0]!;
  }

  /** A download's content (the URL's token opens it once); `done` records how it ended. */
  async function send(id: string, token: string): Promise<{ transfer: FileTransfer; stream: Readable; done: (outcome: { bytes: number; error?: unknown }) => Promise<void> }> {
    const row = await spend(id, token, 'download');
    let stream: Readable;
    try {
      stream = await onHost(() => host.servers.readFile(row.server_id, { path: row.path, username: row.username, groupname: row.groupname || undefined, maxBytes: limit }));
    } catch (error) {
      return failed(row.id, /larger than the limit/.test((error as Error).message) ? tooLarge(limit) : error);
    }
    const done = async ({ bytes, error }: { bytes: number; error?: unknown }) => {
      if (error === undefined) await finish(row.id, { success: true, message: `Downloaded ${bytes} bytes from ${row.path}.`, bytes });
      else await finish(row.id, { success: false, message: tenantMessage(asDomainError(error)) });
    };
    return { transfer: (await shown([row]))[0]!, stream, done };
  }

  async function get(actor: Actor, direction: 'upload' | 'download', id: string): Promise<FileTransfer> {
    assertAllowed(actor, 'command:read');
    const row = isUuid(id) ? await visible(actor).where('id', '=', id.toLowerCase()).where('direction', '=', direction).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('webftp_transfer', 'No transfer matches the given query.');
    return (await shown([row]))[0]!;
  }

  return { createUpload, createDownload, receive, send, get, limit };
}
