import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { LINE_MAX, SHELLS } from '../../../core/commands/command-input.ts';
import { COMMAND_STATUSES, type Command, type CommandChunk } from '../../../core/commands/command-model.ts';
import type { CommandService } from '../../../core/commands/command-service.ts';
import { KEEP_ALIVE_MS, lastEventIdOf, sendEventStream, sseEvent } from '../../../http/event-stream.ts';
import { baseUrl, listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { computeErrors, commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const COLLECTION = '/api/events/commands/';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const CommandBody = Type.Object({
  id: Uuid,
  shell: Type.String({ examples: ['system'] }),
  line: Type.String({ examples: ['uname -a'] }),
  env: Type.Record(Type.String(), Type.String(), { description: 'Values are shown only to those who may run commands (`command:write`); others see `********`.' }),
  username: Type.String(),
  groupname: Type.String({ description: "Empty: the user's primary group." }),
  server: Uuid,
  run_after: Type.Array(Uuid, { description: 'Commands that finish before this one starts.' }),
  status: Type.String({ description: `One of ${COMMAND_STATUSES.join(', ')}.` }),
  success: Nullable(Type.Boolean({ description: 'Whether it exited with 0; null until it finished.' })),
  exit_code: Nullable(Type.Integer()),
  result: Nullable(Type.String({ description: 'The end of the output (the last 64 KiB); the whole output is in the chunks.' })),
  elapsed_time: Nullable(Type.Number({ description: 'Seconds.' })),
  timeout: Type.Integer({ description: 'Seconds: the command is stopped (and fails) once it has run this long.' }),
  output_cut: Type.Integer({ description: 'Characters cut from the start of the stored output to keep it within the limit (0: the whole output is stored).' }),
  added_at: Timestamp,
  created_at: Timestamp,
  delivered_at: Nullable(Timestamp),
  started_at: Nullable(Timestamp),
  finished_at: Nullable(Timestamp),
  task: Uuid,
  requested_by: Nullable(Uuid),
  url: Type.String(),
});

const ChunkBody = Type.Object({ seq: Type.Integer({ minimum: 0 }), content: Type.String(), added_at: Timestamp });

const CommandsPost = Type.Object({
  shell: Type.Optional(Type.String({ maxLength: 20, description: `${SHELLS.join(', ')} (default system).` })),
  line: Type.String({ maxLength: LINE_MAX, description: "A shell line, run by the server's `/bin/sh -c`." }),
  env: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.String())),
  username: Type.Optional(Type.String({ maxLength: 40, description: 'A user of the server, or a uid (default root).' })),
  groupname: Type.Optional(Type.String({ maxLength: 40, description: "A group of the server, or a gid (default: the user's primary group)." })),
  server: Uuid,
  run_after: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20 })),
  timeout: Type.Optional(Type.Unknown({ description: 'Seconds the command may run (default and most allowed: NIMBUS_COMMAND_TIMEOUT, NIMBUS_COMMAND_TIMEOUT_MAX).' })),
});

/** `/api/events/commands/`: Alpacon's remote commands, run on the acting organization's servers. */
export function commandRoutes(app: FastifyTypeBox, commands: CommandService): void {
  const tags = ['commands'];
  const render = (request: FastifyRequest) => (c: Command) => ({
    id: c.id,
    shell: c.shell,
    line: c.line,
    env: c.env,
    username: c.username,
    groupname: c.groupname,
    server: c.serverId,
    run_after: c.runAfter,
    status: c.status,
    success: c.success,
    exit_code: c.exitCode,
    result: c.result,
    elapsed_time: c.elapsedTime,
    timeout: c.timeoutSeconds,
    output_cut: c.outputCut,
    // Alpacon's names, beside Nimbus's own.
    added_at: c.createdAt,
    created_at: c.createdAt,
    delivered_at: c.startedAt,
    started_at: c.startedAt,
    finished_at: c.finishedAt,
    task: c.taskId,
    requested_by: c.requestedBy,
    url: `${baseUrl(request)}${COLLECTION}${c.id}/`,
  });
  const renderChunk = (k: CommandChunk) => ({ seq: k.seq, content: k.content, added_at: k.createdAt });

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: commonErrors,
    item: CommandBody,
    render,
    list: { summary: 'List commands, newest first', filters: { server: Type.Optional(Type.String({ maxLength: 40 })), status: Type.Optional(Type.String({ maxLength: 100 })) }, run: commands.list },
    retrieve: { summary: 'Retrieve a command: its status, exit code and the end of its output', run: commands.get },
  });

  // Answers a list, as Alpacon does.
  app.post(COLLECTION, {
    schema: {
      tags,
      summary: 'Run a shell line on a running server (answers a list holding the queued command, as Alpacon does)',
      body: CommandsPost,
      response: { 201: Type.Array(CommandBody), ...computeErrors },
    },
    handler: async (request, reply) => {
      const command = await commands.create(request.actor, request.body);
      reply.code(201).header('location', `${baseUrl(request)}${COLLECTION}${command.id}/`);
      return [render(request)(command)];
    },
  });

  app.get(`${COLLECTION}:id/chunks/`, {
    schema: {
      tags,
      summary: "A command's output, in chunks numbered from 0 (`ordering=seq`)",
      params: IdParams,
      querystring: listQuerySchema({}),
      response: { 200: listResponseSchema(ChunkBody), ...commonErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await commands.chunks(request.actor, request.params.id, toListRequest(request.query)), renderChunk),
  });

  app.get(`${COLLECTION}:id/stream/`, {
    schema: {
      tags,
      summary: "A command's output live (Server-Sent Events), until it finishes",
      description:
        'Each chunk is sent as `id: <seq>`, `event: chunk`, `data: {"seq","content","added_at"}`: first those already stored, then each as it is stored. ' +
        'When the command has finished, `event: finished` carries the command and the stream ends. Reconnect with `Last-Event-ID` (or `?last_event_id=`) to resume after a chunk.',
      params: IdParams,
      querystring: Type.Object({ last_event_id: Type.Optional(Type.String({ maxLength: 20 })) }),
      response: { 200: Type.String({ description: 'text/event-stream' }), ...commonErrors },
    },
    handler: async (request, reply) => {
      const afterSeq = lastEventIdOf(request, 'seq of the last chunk received') ?? -1;
      const toClient = render(request);
      await sendEventStream(
        request,
        reply,
        (signal) => commands.follow(request.actor, request.params.id, { afterSeq, signal, idleMs: KEEP_ALIVE_MS }),
        (batch) => batch.chunks.map((k) => sseEvent(k.seq, 'chunk', renderChunk(k))).join('') + (batch.finished ? sseEvent(null, 'finished', toClient(batch.finished)) : ''),
      );
    },
  });
}
