import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../../core/apps/app-services.ts';
import type { AppRunRow } from '../../../store/schema.ts';
import { baseUrl } from '../../../http/surface.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest, type ListQuery } from '../pagination.ts';
import { commonErrors, computeErrors, IdParams } from '../wire/common.ts';
import { AppItemParams, OutputQuery, RunBody, RunPost } from '../wire/apps.ts';
import type { FastifyTypeBox } from '../types.ts';
import { APPS_COLLECTION } from './apps.ts';
import { OUTPUT_STREAM_DESCRIPTION, sendOutputStream } from './output-stream.ts';

/** One-off runs of an app: `/api/apps/apps/<id or name>/runs/`. */
export function appRunRoutes(app: FastifyTypeBox, { runs }: Pick<AppServices, 'runs'>): void {
  const tags = ['apps'];
  const RUNS = `${APPS_COLLECTION}:id/runs/`;
  const runUrl = (request: FastifyRequest, r: AppRunRow) => `${baseUrl(request)}${APPS_COLLECTION}${r.app_id}/runs/${r.id}/`;
  const render = (request: FastifyRequest) => (r: AppRunRow) => ({
    id: r.id, app: r.app_id, command: r.command, size: r.size, status: r.status, exit_code: r.exit_code, release: r.release_id, task: r.task_id,
    url: runUrl(request, r), output_url: `${runUrl(request, r)}output/`, created_at: r.created_at, finished_at: r.finished_at,
  });

  app.post(RUNS, {
    schema: {
      tags,
      summary: "Run a command once in a container with the app's current release and environment (202 with the run and its task)",
      params: IdParams,
      body: RunPost,
      response: { 202: RunBody, ...computeErrors },
    },
    handler: async (request, reply) => {
      const { run } = await runs.create(request.actor, request.params.id, request.body);
      reply.code(202).header('location', runUrl(request, run));
      return render(request)(run);
    },
  });

  app.get(RUNS, {
    schema: { tags, summary: "An app's one-off runs, newest first", params: IdParams, querystring: listQuerySchema({}), response: { 200: listResponseSchema(RunBody), ...commonErrors } },
    handler: async (request, reply) => sendList(request, reply, await runs.list(request.actor, request.params.id, toListRequest(request.query as ListQuery)), render(request)),
  });

  app.get(`${RUNS}:item/`, {
    schema: { tags, summary: 'A one-off run, with its exit code once it has finished', params: AppItemParams, response: { 200: RunBody, ...commonErrors } },
    handler: async (request) => render(request)(await runs.get(request.actor, request.params.id, request.params.item)),
  });

  app.get(`${RUNS}:item/output/`, {
    schema: {
      tags,
      summary: "A run's output (Server-Sent Events): what is stored, then live, until it finishes",
      description: OUTPUT_STREAM_DESCRIPTION,
      params: AppItemParams,
      querystring: OutputQuery,
      response: { 200: Type.String({ description: 'text/event-stream' }), ...commonErrors },
    },
    handler: (request, reply) => sendOutputStream(request, reply, (options) => runs.followOutput(request.actor, request.params.id, request.params.item, options)),
  });
}
