import { Type } from 'typebox';
import type { Note } from '../../../core/notes/note-service.ts';
import type { RegistrationToken } from '../../../core/registration/registration-token-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { renderServerSummary, renderUserSummary } from '../summaries.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, Nullable, Timestamp, Uuid } from '../wire/common.ts';
import { ServerSummaryBody, UserSummaryBody } from '../wire/summaries.ts';

const RegistrationTokenBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  allowed_groups: Type.Array(Type.String(), { description: 'Ids of the groups a server it enrols may join.' }),
  enabled: Type.Boolean({ description: 'Not expired.' }),
  expires_at: Nullable(Timestamp),
  last_used_at: Nullable(Timestamp),
  added_at: Timestamp,
});
const CreatedRegistrationTokenBody = Type.Object({ ...RegistrationTokenBody.properties, key: Type.String({ description: 'The key (`nbreg_...`). Shown in this response only.' }) });
const RegistrationTokenPost = Type.Object({
  name: Type.String({ maxLength: 100 }),
  allowed_groups: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })),
  expires_at: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
});

const NoteBody = Type.Object({
  id: Uuid,
  server: ServerSummaryBody,
  author: UserSummaryBody,
  content: Type.String(),
  private: Type.Boolean({ description: 'Shown to its author only.' }),
  pinned: Type.Boolean(),
  added_at: Timestamp,
  updated_at: Timestamp,
});
const NotePost = Type.Object({ server: Type.String({ maxLength: 64 }), content: Type.String({ maxLength: 10_000 }), private: Type.Optional(Type.Boolean()), pinned: Type.Optional(Type.Boolean()) });
// Alpacon's CLI edits a note's whole JSON and sends it back: server, author and times are ignored.
const NotePatch = Type.Object({ content: Type.Optional(Type.String({ maxLength: 10_000 })), private: Type.Optional(Type.Boolean()), pinned: Type.Optional(Type.Boolean()) });

const renderToken = (t: RegistrationToken) => ({ id: t.id, name: t.name, allowed_groups: t.allowedGroups, enabled: t.enabled, expires_at: t.expiresAt, last_used_at: t.lastUsedAt, added_at: t.createdAt });
const renderNote = (n: Note) => ({ id: n.id, server: renderServerSummary(n.server), author: renderUserSummary(n.author), content: n.content, private: n.private, pinned: n.pinned, added_at: n.createdAt, updated_at: n.updatedAt });

/**
 * `/api/servers/registration-tokens/` (a key that enrols machines, shown once) and
 * `/api/servers/notes/`, as Alpacon's CLI uses them (`alpacon server token`, `alpacon note`).
 */
export function serverExtraRoutes(app: FastifyTypeBox, { registrationTokens, notes }: Pick<CoreServices, 'registrationTokens' | 'notes'>): void {
  collectionRoutes(app, {
    path: '/api/servers/registration-tokens/',
    tags: ['servers'],
    errors: commonErrors,
    item: RegistrationTokenBody,
    render: () => renderToken,
    list: { summary: 'List the registration tokens of your organization (never their keys)', filters: { name: Type.Optional(Type.String({ maxLength: 100 })) }, run: registrationTokens.list },
    create: {
      summary: 'Create a registration token; its key is shown once',
      body: RegistrationTokenPost,
      response: CreatedRegistrationTokenBody,
      run: async (actor, body) => {
        const { token, key } = await registrationTokens.create(actor, { name: body.name, allowedGroups: body.allowed_groups, expiresAt: body.expires_at });
        return { row: token, extra: { key } };
      },
    },
    retrieve: { summary: 'Retrieve a registration token', run: registrationTokens.get },
    remove: { summary: 'Delete a registration token: its key enrols nothing more', run: registrationTokens.remove },
  });

  collectionRoutes(app, {
    path: '/api/servers/notes/',
    tags: ['servers'],
    errors: commonErrors,
    item: NoteBody,
    render: () => renderNote,
    list: {
      summary: 'List notes on servers (filters: server, pinned)',
      filters: { server: Type.Optional(Type.String({ maxLength: 64 })), pinned: Type.Optional(Type.String({ maxLength: 5 })) },
      run: notes.list,
    },
    create: { summary: 'Write a note on a server', body: NotePost, run: async (actor, body) => ({ row: await notes.create(actor, body) }) },
    retrieve: { summary: 'Retrieve a note', run: notes.get },
    update: { summary: "Change a note's content, privacy or pin", body: NotePatch, run: (actor, id, body) => notes.update(actor, id, body) },
    remove: { summary: 'Delete a note', run: notes.remove },
  });
}
