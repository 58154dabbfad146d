import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { HttpError } from '../../http/errors.ts';
import { surfaceUrl } from '../../http/surface.ts';
import type { AppLogLine } from '../../core/apps/log-service.ts';
import { appRenderer } from './apps.ts';
import { IDLE_MS, isUpgrade, sendBatches } from './sockets.ts';

type LogsQuery = { Params: { app: string }; Querystring: Record<string, string | undefined> };

/** Scalingo's clients print the last 20 lines unless asked for more. */
const DEFAULT_LINES = 20;

/** `2026-12-02 07:30:00.123000000 +0000 UTC [web-1] text`: the clients split the date (four words) and the source off each line. */
export function logLine(line: Pick<AppLogLine, 'created_at' | 'source' | 'line'>): string {
  const [date, time] = line.created_at.replace('Z', '').split('T');
  return `${date} ${time}000000 +0000 UTC [${line.source}] ${line.line}\n`;
}

/**
 * Logs: `GET /v1/apps/:app/logs` gives `logs_url`, a URL to the app's lines that needs no
 * credential (its token is a capability for this app only, for 15 minutes), as Scalingo's log
 * endpoint: `n` lines (20 unless given), `filter` to one process type or process, as text; 204
 * when the app has logged nothing. Over a WebSocket (`stream=true`, as `scalingo logs -f`
 * connects) it follows the lines as they are written.
 */
export function logRoutes(app: FastifyInstance, services: Pick<CoreServices, 'apps' | 'organizations'>, region: string) {
  const { logs, apps } = services.apps;
  const render = appRenderer(services, region);

  app.get<{ Params: { app: string } }>('/v1/apps/:app/logs', async (request) => {
    const found = await apps.get(request.actor, request.params.app);
    const { token, expiresAt } = await logs.link(request.actor, found.id);
    const timestamp = Math.floor(expiresAt.getTime() / 1000);
    return {
      app: (await render(request, [found]))[0],
      logs_url: surfaceUrl(app, request, `/v1/apps/${found.id}/logs/lines?token=${encodeURIComponent(token)}&timestamp=${timestamp}`),
    };
  });

  /** Where each socket's stream starts, read before its upgrade. */
  const openedAfter = new WeakMap<FastifyRequest, number>();
  const lineQuery = (request: FastifyRequest<LogsQuery>) => {
    const { token, filter } = request.query;
    return { token: token ?? '', source: filter || undefined };
  };

  app.route<LogsQuery>({
    method: 'GET',
    url: '/v1/apps/:app/logs/lines',
    config: { auth: false },
    // A socket is checked before its upgrade: a link that does not reach the app is the HTTP error it is on the plain route.
    preValidation: async (request) => {
      if (!isUpgrade(request)) return;
      const { token, source } = lineQuery(request);
      // The last line there is as the socket opens: the stream starts after it, whenever its reading starts.
      const [last] = await logs.tailByLink(request.params.app, token, { n: 1, source });
      openedAfter.set(request, last?.seq ?? 0);
    },
    handler: async (request, reply) => {
      const { n, stream } = request.query;
      if (stream === 'true') throw new HttpError(426, 'upgrade_required', 'Following logs (stream=true) is a WebSocket: connect with an Upgrade (ws:// or wss://).');
      const { token, source } = lineQuery(request);
      const count = n === undefined || n === '' ? DEFAULT_LINES : Number(n);
      const lines = await logs.tailByLink(request.params.app, token, { n: count, source });
      if (!lines.length) return reply.code(204).send();
      return reply.type('text/plain; charset=utf-8').send(lines.map(logLine).join(''));
    },
    // Each line as Scalingo's log socket sends it, `{"event": "log", "log", "timestamp"}`, as it is written.
    wsHandler: (socket, request) => {
      const { token, source } = lineQuery(request as FastifyRequest<LogsQuery>);
      const appId = (request.params as LogsQuery['Params']).app;
      const afterSeq = openedAfter.get(request);
      void sendBatches(socket, (signal) => logs.followByLink(appId, token, { source, afterSeq, signal, idleMs: IDLE_MS }), {
        render: (line: AppLogLine) => ({ event: 'log', log: logLine(line), timestamp: line.created_at }),
        ping: { event: 'ping' },
        endedReason: 'This logs URL no longer gives access to the app: ask for a new one.',
      });
    },
  });
}
