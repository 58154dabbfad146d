import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../../core/apps/app-services.ts';
import { SIZES } from '../../../core/apps/plans.ts';
import type { AppLogLine } from '../../../core/apps/log-service.ts';
import type { AppContainerRow, AppDeploymentRow, AppFormationRow, AppReleaseRow, AppVariableRow } from '../../../store/schema.ts';
import { acceptRawBodies, assertMediaType, receiveBody } from '../../../http/conventions/json-body.ts';
import { KEEP_ALIVE_MS, lastEventIdOf, sendEventStream, sseEvent } from '../../../http/event-stream.ts';
import { baseUrl } from '../../../http/surface.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest, type ListQuery } from '../pagination.ts';
import { sendAccepted } from '../tasks/task-body.ts';
import { commonErrors, computeErrors, IdParams } from '../wire/common.ts';
import { TaskBody } from '../wire/tasks.ts';
import {
  AppItemParams,
  ContainersBody,
  DeploymentBody,
  DeploymentCreated,
  FormationAccepted,
  FormationBody,
  FormationPost,
  LogsBody,
  LogsQuery,
  OutputQuery,
  ReleaseBody,
  RestartPost,
  RollbackPost,
  VariableBody,
  VariablePatch,
  VariablePost,
  VariablesBody,
  VariablesDelete,
  VariablesPut,
} from '../wire/apps.ts';
import type { FastifyTypeBox } from '../types.ts';
import { APPS_COLLECTION } from './apps.ts';
import { OUTPUT_STREAM_DESCRIPTION, sendOutputStream } from './output-stream.ts';

const SOURCE_TYPES = ['application/gzip', 'application/x-gzip', 'application/x-tar', 'application/octet-stream'] as const;
const APP = `${APPS_COLLECTION}:id/`;

const renderRelease = (currentId: string | null) => (r: AppReleaseRow) => ({ id: r.id, version: r.version, deployment: r.deployment_id, processes: JSON.parse(r.procfile), env: JSON.parse(r.env), description: r.description, current: r.id === currentId, created_at: r.created_at });
const renderFormation = (f: AppFormationRow) => ({ name: f.process_type, amount: f.amount, size: f.size });
const renderContainer = (c: AppContainerRow) => ({ id: c.id, name: `${c.process_type}-${c.process_index}`, type: c.process_type, index: c.process_index, size: c.size, state: c.state, restarts: c.restarts, release: c.release_id, address: c.address, created_at: c.created_at });
const renderVariable = (v: AppVariableRow) => ({ id: v.id, name: v.name, value: v.value, created_at: v.created_at, updated_at: v.updated_at });
const renderLine = (l: AppLogLine) => ({ seq: l.seq, source: l.source, line: l.line, created_at: l.created_at });

/** Deployments, releases, formation, variables and logs of an app: `/api/apps/apps/<id or name>/...`. */
export function appReleaseRoutes(app: FastifyTypeBox, services: Pick<AppServices, 'apps' | 'deployments' | 'formation' | 'variables' | 'logs'>, { sourceLimit }: { sourceLimit: number }): void {
  const { apps, deployments, formation, variables, logs } = services;
  const tags = ['apps'];
  const deploymentUrl = (request: FastifyRequest, d: AppDeploymentRow) => `${baseUrl(request)}${APPS_COLLECTION}${d.app_id}/deployments/${d.id}/`;
  const renderDeployment = (request: FastifyRequest) => (d: AppDeploymentRow) => ({
    id: d.id, app: d.app_id, status: d.status, stack: d.stack, archive_size: Number(d.archive_bytes), release: d.release_id, error: d.error, task: d.task_id,
    url: deploymentUrl(request, d), output_url: `${deploymentUrl(request, d)}output/`, created_at: d.created_at, finished_at: d.finished_at,
  });

  // The only route here whose body is not JSON: the source archive, streamed to disk under its cap.
  app.register(async (child: FastifyTypeBox) => {
    acceptRawBodies(child);
    child.post(`${APP}deployments/`, {
      bodyLimit: sourceLimit,
      schema: {
        tags,
        summary: 'Deploy: the source archive (.tar or .tar.gz) is the request body; 202 with the deployment and its task',
        params: IdParams,
        response: { 202: DeploymentCreated, 413: computeErrors[403], 415: computeErrors[403], ...computeErrors },
      },
      handler: async (request, reply) => {
        // The media type is checked once the app is found: another organization's app is a 404 whatever the body.
        const { deployment, task } = await deployments.create(request.actor, request.params.id, (file) => {
          assertMediaType(request.headers['content-type'], SOURCE_TYPES);
          return receiveBody(request.raw, file, sourceLimit, 'NIMBUS_APP_SOURCE_LIMIT');
        });
        reply.code(202).header('location', deploymentUrl(request, deployment));
        return { ...renderDeployment(request)(deployment), task: task.id };
      },
    });
  });

  app.get(`${APP}deployments/`, {
    schema: { tags, summary: "An app's deployments, newest first", params: IdParams, querystring: listQuerySchema({}), response: { 200: listResponseSchema(DeploymentBody), ...commonErrors } },
    handler: async (request, reply) => sendList(request, reply, await deployments.list(request.actor, request.params.id, toListRequest(request.query as ListQuery)), renderDeployment(request)),
  });

  app.get(`${APP}deployments/:item/`, {
    schema: { tags, summary: 'A deployment', params: AppItemParams, response: { 200: DeploymentBody, ...commonErrors } },
    handler: async (request) => renderDeployment(request)(await deployments.get(request.actor, request.params.id, request.params.item)),
  });

  app.get(`${APP}deployments/:item/output/`, {
    schema: {
      tags,
      summary: "A deployment's build output (Server-Sent Events): what is stored, then live, until it finishes",
      description: OUTPUT_STREAM_DESCRIPTION,
      params: AppItemParams,
      querystring: OutputQuery,
      response: { 200: Type.String({ description: 'text/event-stream' }), ...commonErrors },
    },
    handler: (request, reply) => sendOutputStream(request, reply, (options) => deployments.followOutput(request.actor, request.params.id, request.params.item, options)),
  });

  app.get(`${APP}releases/`, {
    schema: { tags, summary: "An app's releases, newest first", params: IdParams, querystring: listQuerySchema({}), response: { 200: listResponseSchema(ReleaseBody), ...commonErrors } },
    handler: async (request, reply) => {
      const found = await apps.reach(request.actor, request.params.id, 'read');
      return sendList(request, reply, await deployments.releases(request.actor, found.id, toListRequest(request.query as ListQuery)), renderRelease(found.current_release_id));
    },
  });

  app.post(`${APP}rollback/`, {
    schema: { tags, summary: 'Go back to an earlier release (202 with the task)', params: IdParams, body: RollbackPost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await deployments.rollback(request.actor, request.params.id, request.body)),
  });

  app.get(`${APP}formation/`, {
    schema: { tags, summary: 'Process types with their amount and size', params: IdParams, response: { 200: FormationBody, ...commonErrors } },
    handler: async (request) => ({
      containers: (await formation.get(request.actor, request.params.id)).map(renderFormation),
      sizes: Object.fromEntries(Object.entries(SIZES).map(([name, size]) => [name, { memory: size.memoryBytes, cpu: size.cpu }])),
    }),
  });

  app.post(`${APP}formation/`, {
    schema: {
      tags,
      summary: 'Scale: amount and size of some process types (202 with the formation and the task rolling it out)',
      params: IdParams,
      body: FormationPost,
      response: { 202: FormationAccepted, ...computeErrors },
    },
    handler: async (request, reply) => {
      const { formation: next, task } = await formation.scale(request.actor, request.params.id, request.body.containers.map((c) => ({ process_type: c.name, amount: c.amount, size: c.size })));
      reply.code(202).header('location', `${baseUrl(request)}/api/tasks/tasks/${task.id}/`);
      return { containers: next.map(renderFormation), task: task.id };
    },
  });

  app.post(`${APP}restart/`, {
    schema: { tags, summary: 'Restart some process types, or all (202 with the task)', params: IdParams, body: RestartPost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await formation.restart(request.actor, request.params.id, request.body.scope)),
  });

  app.get(`${APP}containers/`, {
    schema: { tags, summary: "The app's containers", params: IdParams, response: { 200: ContainersBody, ...commonErrors } },
    handler: async (request) => ({ containers: (await formation.containers(request.actor, request.params.id)).map(renderContainer) }),
  });

  app.get(`${APP}variables/`, {
    schema: { tags, summary: "The app's environment variables", params: IdParams, response: { 200: VariablesBody, ...commonErrors } },
    handler: async (request) => ({ variables: (await variables.list(request.actor, request.params.id)).map(renderVariable) }),
  });

  app.post(`${APP}variables/`, {
    schema: { tags, summary: 'Set a variable (a new release; nothing restarts)', params: IdParams, body: VariablePost, response: { 201: VariableBody, ...commonErrors } },
    handler: async (request, reply) => reply.code(201).send(renderVariable(await variables.create(request.actor, request.params.id, request.body))),
  });

  app.put(`${APP}variables/`, {
    schema: {
      tags,
      summary: 'Bulk: set these variables (`replace: true` removes the others); one new release',
      params: IdParams,
      body: VariablesPut,
      response: { 200: VariablesBody, ...commonErrors },
    },
    handler: async (request) => ({ variables: (await variables.bulk(request.actor, request.params.id, request.body.variables, { replace: request.body.replace === true })).map(renderVariable) }),
  });

  app.delete(`${APP}variables/`, {
    schema: { tags, summary: 'Bulk delete by ids', params: IdParams, body: VariablesDelete, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await variables.remove(request.actor, request.params.id, request.body.variable_ids);
      return reply.code(204).send(null);
    },
  });

  app.patch(`${APP}variables/:item/`, {
    schema: { tags, summary: "Change a variable's value", params: AppItemParams, body: VariablePatch, response: { 200: VariableBody, ...commonErrors } },
    handler: async (request) => renderVariable(await variables.update(request.actor, request.params.id, request.params.item, request.body)),
  });

  app.delete(`${APP}variables/:item/`, {
    schema: { tags, summary: 'Delete a variable', params: AppItemParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await variables.remove(request.actor, request.params.id, [request.params.item]);
      return reply.code(204).send(null);
    },
  });

  app.get(`${APP}logs/`, {
    schema: {
      tags,
      summary: "The app's logs: the last `n` lines, or with `Accept: text/event-stream` live (resumable with `Last-Event-ID`)",
      params: IdParams,
      querystring: LogsQuery,
      response: { 200: LogsBody, ...commonErrors },
    },
    handler: async (request, reply) => {
      const n = request.query.n ?? 100;
      const live = request.query.stream === true || String(request.headers.accept ?? '').includes('text/event-stream');
      if (!live) return { lines: (await logs.tail(request.actor, request.params.id, n)).map(renderLine) };
      const afterSeq = lastEventIdOf(request, 'seq of the last line received');
      await sendEventStream(
        request,
        reply,
        (signal) => logs.follow(request.actor, request.params.id, { afterSeq, n, signal, idleMs: KEEP_ALIVE_MS }),
        (batch) => batch.map((l) => sseEvent(l.seq, 'line', renderLine(l))).join(''),
      );
    },
  });
}
