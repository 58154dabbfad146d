import type { FastifyInstance } from 'fastify';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { ValidationFailed } from '../../core/errors.ts';
import { HttpError } from '../../http/errors.ts';
import { tunnelOf } from '../../http/listeners.ts';
import type { CoreServices } from '../../core/services.ts';
import { surfaceUrl } from '../../http/surface.ts';
import type { AppRunRow } from '../../store/schema.ts';
import { appRenderer } from './apps.ts';
import { optionalBoolean, optionalString } from './input.ts';

type RunParams = { Params: { app: string } };
type AttachParams = { Params: { app: string; id: string } };

/** Where an attached run waits for its attachment (the operation's `start_one_off_data.attach_url`). */
export const attachPath = (appId: string, runId: string) => `/v1/apps/${appId}/runs/${runId}`;

/** `scalingo run` sends EOT (`\x04`) when its standard input ends: the run's input ends there too. */
const EOT = 4;

/** The input a client sends on an attachment: its bytes until EOT or until it closes. */
function clientInput(socket: Duplex, head: Buffer): Readable {
  const input = new PassThrough();
  const take = (chunk: Buffer) => {
    if (input.writableEnded) return;
    const eot = chunk.indexOf(EOT);
    if (eot === -1) input.write(chunk);
    else input.end(chunk.subarray(0, eot));
  };
  if (head.length) take(head);
  socket.on('data', take);
  for (const gone of ['end', 'close']) socket.on(gone, () => input.writableEnded || input.end());
  return input;
}

/** A run's status as a container's state. */
const STATES: Record<AppRunRow['status'], string> = { queued: 'booting', running: 'running', succeeded: 'stopped', failed: 'crashed' };

/**
 * One-off runs: `POST /v1/apps/:app/run` `{command, size, env, detached: true}` runs the command
 * once in a container of its own with the app's current release (and `env`, variables of this run
 * alone, over the app's), and answers with that container and the operation (`operation_url`)
 * that ends with it (the run's output and exit code are kept with it).
 *
 * Without `detached`, as `scalingo run` does it: the operation is done once the run waits for its
 * attachment, with `start_one_off_data.attach_url`. The client sends `CONNECT <attach_url>` with
 * its credential (Basic, the token as password); a 200 answers it, and the connection then
 * carries the run's input (until EOT or its end) and output (to its end). `GET <attach_url>/wait`
 * gives `{"exit_code"}`. Files (`<attach_url>/files`) are not taken.
 */
export function runRoutes(app: FastifyInstance, services: Pick<CoreServices, 'apps' | 'organizations'>, region: string) {
  const { runs, apps } = services.apps;
  const renderApp = appRenderer(services, region);

  app.post<RunParams>('/v1/apps/:app/run', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const command = optionalString(body, 'command');
    const size = optionalString(body, 'size');
    const detached = optionalBoolean(body, 'detached');
    const env = body.env === null ? undefined : (body.env as Record<string, string> | undefined);
    const found = await apps.get(request.actor, request.params.app);
    const { run, task } = await runs.create(request.actor, found.id, { command, size, env, attached: detached !== true });
    return {
      container: {
        id: run.id,
        app_id: run.app_id,
        created_at: run.created_at,
        deleted_at: run.finished_at,
        command: run.command,
        type: 'one-off',
        type_index: 0,
        label: 'one-off',
        state: STATES[run.status],
        size: run.size,
        container_size: { id: run.size, name: run.size },
        app: (await renderApp(request, [found]))[0],
      },
      operation_url: surfaceUrl(app, request, `/v1/apps/${run.app_id}/operations/${task.id}`),
    };
  });

  app.route<AttachParams>({
    method: 'CONNECT',
    url: attachPath(':app', ':id'),
    handler: async (request, reply) => {
      const tunnel = tunnelOf(request);
      if (!tunnel) throw new HttpError(405, 'method_not_allowed', 'Attach with a CONNECT request on the connection itself.');
      // Refused (another organization, a reader, no such waiting run) before the run starts.
      const start = await runs.attach(request.actor, request.params.app, request.params.id);
      reply.hijack();
      const { socket, head } = tunnel;
      socket.write('HTTP/1.1 200 OK\r\n\r\n');
      // The client closing its side is its going away (its input ends with EOT, not with that): the run is killed.
      const detachedBy = new AbortController();
      for (const gone of ['end', 'close']) socket.on(gone, () => detachedBy.abort());
      const output = (text: string) => void (socket.writable && socket.write(text));
      await start({ input: clientInput(socket, head), output, signal: detachedBy.signal }).finally(() => socket.end());
    },
  });

  app.get<AttachParams>(`${attachPath(':app', ':id')}/wait`, async (request) => {
    const { finished, exitCode } = await runs.waitExit(request.actor, request.params.app, request.params.id);
    if (!finished) throw new HttpError(408, 'run_not_finished', 'The run has not finished yet.');
    // A run that never ran (never attached, or its container failed to start) has no exit code.
    return { exit_code: exitCode ?? -1 };
  });

  app.post<AttachParams>(`${attachPath(':app', ':id')}/files`, async (request) => {
    await runs.get(request.actor, request.params.app, request.params.id);
    throw ValidationFailed.field('file', 'Uploading files to a one-off run is not offered: put them in the app, or pass small ones in env.');
  });
}
