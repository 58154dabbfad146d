import { Type } from 'typebox';
import { TERMINAL_SIZE } from '../../../core/websh/websh-service.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';
import { ServerSummaryBody, UserSummaryBody } from './summaries.ts';

/** The wire schemas of /api/websh/: web shell sessions, their shares and channels, in Alpacon's names. */

const TerminalSize = (what: string) => Type.Integer({ minimum: TERMINAL_SIZE.min, maximum: TERMINAL_SIZE.max, description: `The terminal's ${what}.` });

export const WebshSessionBody = Type.Object({
  id: Uuid,
  rows: Type.Integer(),
  cols: Type.Integer(),
  server: ServerSummaryBody,
  user: UserSummaryBody,
  username: Type.String({ description: "The server's user the shell runs as." }),
  groupname: Type.String({ description: "Empty: the user's primary group." }),
  user_agent: Type.String(),
  remote_ip: Type.String(),
  is_tunnel: Type.Boolean(),
  client_type: Type.String({ examples: ['cli'] }),
  added_at: Timestamp,
  updated_at: Timestamp,
  started_at: Nullable(Timestamp),
  closed_at: Nullable(Timestamp),
  exit_code: Nullable(Type.Integer({ description: "The shell's exit code, when it ended by itself." })),
  success: Type.Boolean({ description: 'Whether the shell ended by itself with exit code 0.' }),
});

export const WebshTicketBody = Type.Object({
  ...WebshSessionBody.properties,
  websocket_url: Type.String({
      description:
        "The terminal's WebSocket, authorised by the one-time token it carries (used once, within 30 seconds). Binary frames are input; " +
        'a text frame `{"type": "resize", "rows": R, "cols": C}` resizes; the server sends the terminal\'s bytes as binary frames and closes with 4000 when the shell ends.',
  }),
  read_only: Type.Boolean(),
});

export const WebshSessionsPost = Type.Object({
  server: Uuid,
  rows: TerminalSize('rows'),
  cols: TerminalSize('columns'),
  username: Type.Optional(Type.String({ maxLength: 32, description: 'A user of the server, or a uid (default root).' })),
  groupname: Type.Optional(Type.String({ maxLength: 32, description: "A group of the server, or a gid (default: the user's primary group)." })),
  work_session: Type.Optional(Type.String({ maxLength: 100, description: 'Accepted for Alpacon compatibility; not used.' })),
});

export const WebshSharePost = Type.Object({ read_only: Type.Optional(Type.Boolean({ description: 'Joiners only watch (default false).' })) });

export const WebshShareBody = Type.Object({
  shared_url: Type.String({ description: 'Carries the share as `?channel=<id>`: join it with POST /api/websh/user-channels/<id>/join/ and the password.' }),
  password: Type.String({ description: 'Shown once.' }),
  read_only: Type.Boolean(),
  expiration: Timestamp,
});

export const WebshJoinPost = Type.Object({ password: Type.String({ maxLength: 200 }) });
