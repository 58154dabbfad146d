import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { type Command, type CommandChunk } from '../../../core/commands/command-model.ts';
import type { CommandService } from '../../../core/commands/command-service.ts';
import { KEEP_ALIVE_MS, lastEventIdOf, sendEventStream, sseEvent } from '../../../http/event-stream.ts';
import { baseUrl } from '../../../http/surface.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../pagination.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { computeErrors, commonErrors, IdParams } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { renderServerSummary, renderUserSummary } from '../summaries.ts';
import { ChunkBody, CommandBody, CommandsPost } from '../wire/commands.ts';

const COLLECTION = '/api/events/commands/';

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
    server: renderServerSummary(c.server),
    run_after: c.runAfter,
    status: c.status,
    success: c.success,
    exit_code: c.exitCode,
    result: c.result ?? '',
    elapsed_time: c.elapsedTime ?? 0,
    timeout: c.timeoutSeconds,
    output_cut: c.outputCut,
    // Alpacon's names, beside Nimbus's own.
    added_at: c.createdAt,
    created_at: c.createdAt,
    delivered_at: c.startedAt,
    started_at: c.startedAt,
    finished_at: c.finishedAt,
    task: c.taskId,
    requested_by: c.requester && renderUserSummary(c.requester),
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
