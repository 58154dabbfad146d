import type { Store } from '../../store/database.ts';
import type { ServerNoteRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import type { ServerService } from '../compute/server-service.ts';
import { NotFound, ValidationFailed } from '../errors.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { goneServer, goneUser, serverSummaries, userSummaries, type ServerSummary, type UserSummary } from '../summaries.ts';

const CONTENT_MAX = 10_000;

export interface Note {
  id: string;
  server: ServerSummary;
  author: UserSummary;
  content: string;
  private: boolean;
  pinned: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NoteInput {
  server?: string;
  content?: string;
  private?: boolean;
  pinned?: boolean;
}

const listSpec: ListSpec = {
  filters: {
    server: uuidFilter('server_id', 'server'),
    pinned: (query, value) => {
      if (value !== 'true' && value !== 'false') throw ValidationFailed.field('pinned', 'Must be true or false.');
      return query.where('pinned', '=', value === 'true' ? 1 : 0);
    },
  },
  searchColumns: ['content'],
  orderings: { added_at: 'created_at', pinned: 'pinned' },
  defaultOrdering: '-added_at',
  idColumn: 'id',
};

export type NoteService = ReturnType<typeof createNoteService>;

/**
 * Notes on servers (Alpacon's `alpacon note`): reading them takes `server:read`, writing them
 * `server:write`. A private note shows to its author only; to everyone else it does not exist.
 */
export function createNoteService({ store, servers }: { store: Pick<Store, 'db'>; servers: Pick<ServerService, 'findVisible'> }) {
  const { db } = store;
  const visible = (actor: Actor) =>
    db
      .selectFrom('server_notes')
      .selectAll()
      .where('organization_path', 'like', `${actor.organizationPath}%`)
      .where((eb) => eb.or([eb('private', '=', 0), eb('author_id', '=', actor.principal.userId)]));

  async function shown(actor: Actor, rows: ServerNoteRow[]): Promise<Note[]> {
    const [serversById, users] = await Promise.all([serverSummaries(db, rows.map((r) => r.server_id)), userSummaries(db, actor.organizationPath, rows.map((r) => r.author_id))]);
    return rows.map((r) => ({
      id: r.id,
      server: serversById.get(r.server_id) ?? goneServer(r.server_id),
      author: (r.author_id === null ? undefined : users.get(r.author_id)) ?? goneUser(r.author_id ?? ''),
      content: r.content,
      private: r.private === 1,
      pinned: r.pinned === 1,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  async function find(actor: Actor, id: string): Promise<ServerNoteRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id.toLowerCase()).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('note', 'No note matches the given query.');
    return row;
  }

  function checkContent(content: unknown): string {
    if (typeof content !== 'string' || content.trim() === '') throw ValidationFailed.field('content', 'This field may not be blank.');
    if (content.length > CONTENT_MAX) throw ValidationFailed.field('content', `Ensure this field has no more than ${CONTENT_MAX} characters.`);
    return content;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Note>> {
    assertAllowed(actor, 'server:read');
    const result = await runList<ServerNoteRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await shown(actor, result.items) } as ListResult<Note>;
  }

  async function get(actor: Actor, id: string): Promise<Note> {
    assertAllowed(actor, 'server:read');
    return (await shown(actor, [await find(actor, id)]))[0]!;
  }

  async function create(actor: Actor, input: NoteInput): Promise<Note> {
    assertAllowed(actor, 'server:write');
    const content = checkContent(input.content);
    if (!input.server) throw ValidationFailed.field('server', 'This field is required.');
    const server = await servers.findVisible(actor, input.server.toLowerCase());
    const now = nowIso();
    const row: ServerNoteRow = {
      id: newId(),
      organization_id: server.organization_id,
      organization_path: server.organization_path,
      server_id: server.id,
      author_id: actor.principal.userId,
      content,
      private: input.private ? 1 : 0,
      pinned: input.pinned ? 1 : 0,
      created_at: now,
      updated_at: now,
    };
    await db.insertInto('server_notes').values(row).execute();
    return (await shown(actor, [row]))[0]!;
  }

  /** Changes a note's content, privacy or pin; its server and author stay (the CLI sends them back as they were). */
  async function update(actor: Actor, id: string, input: NoteInput): Promise<Note> {
    assertAllowed(actor, 'server:write');
    const row = await find(actor, id);
    const changes = {
      ...(input.content !== undefined ? { content: checkContent(input.content) } : {}),
      ...(input.private !== undefined ? { private: input.private ? 1 : 0 } : {}),
      ...(input.pinned !== undefined ? { pinned: input.pinned ? 1 : 0 } : {}),
      updated_at: nowIso(),
    };
    await db.updateTable('server_notes').set(changes).where('id', '=', row.id).execute();
    return (await shown(actor, [{ ...row, ...changes }]))[0]!;
  }

  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'server:write');
    const row = await find(actor, id);
    await db.deleteFrom('server_notes').where('id', '=', row.id).execute();
  }

  return { list, get, create, update, remove };
}
