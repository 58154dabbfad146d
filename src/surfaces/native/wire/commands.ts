import { Type } from 'typebox';
import { LINE_MAX, SHELLS } from '../../../core/commands/command-input.ts';
import { COMMAND_STATUSES } from '../../../core/commands/command-model.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';
import { ServerSummaryBody, UserSummaryBody } from './summaries.ts';

/** The wire schemas of /api/events/commands/: what clients send and receive, in the native API's names. */

export const CommandBody = Type.Object({
  id: Uuid,
  shell: Type.String({ examples: ['system'] }),
  line: Type.String({ examples: ['uname -a'] }),
  env: Type.Record(Type.String(), Type.String(), { description: 'Values are shown only to those who may run commands (`command:write`); others see `********`.' }),
  username: Type.String(),
  groupname: Type.String({ description: "Empty: the user's primary group." }),
  server: ServerSummaryBody,
  run_after: Type.Array(Uuid, { description: 'Commands that finish before this one starts.' }),
  status: Type.String({ description: `One of ${COMMAND_STATUSES.join(', ')}.` }),
  success: Nullable(Type.Boolean({ description: 'Whether it exited with 0; null until it finished.' })),
  exit_code: Nullable(Type.Integer()),
  result: Type.String({ description: 'The end of the output (the last 64 KiB) once it finished, empty before; the whole output is in the chunks.' }),
  elapsed_time: Type.Number({ description: 'Seconds it ran; 0 until it finished.' }),
  timeout: Type.Integer({ description: 'Seconds: the command is stopped (and fails) once it has run this long.' }),
  output_cut: Type.Integer({ description: 'Characters cut from the start of the stored output to keep it within the limit (0: the whole output is stored).' }),
  added_at: Timestamp,
  created_at: Timestamp,
  delivered_at: Nullable(Timestamp),
  started_at: Nullable(Timestamp),
  finished_at: Nullable(Timestamp),
  task: Uuid,
  requested_by: Nullable(UserSummaryBody),
  url: Type.String(),
});

export const ChunkBody = Type.Object({ seq: Type.Integer({ minimum: 0 }), content: Type.String(), added_at: Timestamp });

export const CommandsPost = Type.Object({
  shell: Type.Optional(Type.String({ maxLength: 20, description: `${SHELLS.join(', ')} (default system).` })),
  line: Type.String({ maxLength: LINE_MAX, description: "A shell line, run by the server's `/bin/sh -c`." }),
  env: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.String())),
  username: Type.Optional(Type.String({ maxLength: 40, description: 'A user of the server, or a uid (default root).' })),
  groupname: Type.Optional(Type.String({ maxLength: 40, description: "A group of the server, or a gid (default: the user's primary group)." })),
  server: Uuid,
  run_after: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20 })),
  timeout: Type.Optional(Type.Unknown({ description: 'Seconds the command may run (default and most allowed: NIMBUS_COMMAND_TIMEOUT, NIMBUS_COMMAND_TIMEOUT_MAX).' })),
});
