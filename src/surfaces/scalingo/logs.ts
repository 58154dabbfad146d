import type { FastifyInstance } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { HttpError } from '../../http/errors.ts';
import { surfaceUrl } from '../../http/surface.ts';
import type { AppLogLineRow } from '../../store/schema.ts';
import { appRenderer } from './apps.ts';

type LogsQuery = { Params: { app: string }; Querystring: Record<string, string | undefined> };

/** Scalingo's clients print the last 20 lines unless asked for more. */
const DEFAULT_LINES = 20;

/** `2026-12-02 07:30:00.123000000 +0000 UTC [web-1] text`: the clients split the date (four words) and the source off each line. */
export function logLine(line: Pick<AppLogLineRow, 'created_at' | 'source' | 'line'>): string {
  const [date, time] = line.created_at.replace('Z', '').split('T');
  return `${date} ${time}000000 +0000 UTC [${line.source}] ${line.line}\n`;
}

/**
 * Logs: `GET /v1/apps/:app/logs` gives `logs_url`, a URL to the app's lines that needs no
 * credential (its token is a capability for this app only, for 15 minutes), as Scalingo's log
 * endpoint: `n` lines (20 unless given), `filter` to one process type or process, as text; 204
 * when the app has logged nothing.
 */
export function logRoutes(app: FastifyInstance, services: Pick<CoreServices, 'apps' | 'organizations'>, region: string) {
  const { logs, apps } = services.apps;
  const render = appRenderer(services, region);

  app.get<{ Params: { app: string } }>('/v1/apps/:app/logs', async (request) => {
    const found = await apps.get(request.actor, request.params.app);
    const { token, expiresAt } = await logs.link(request.actor, found.id);
    const timestamp = Math.floor(expiresAt.getTime() / 1000);
    return {
      app: (await render(request.actor, [found]))[0],
      logs_url: surfaceUrl(app, request, `/v1/apps/${found.id}/logs/lines?token=${encodeURIComponent(token)}&timestamp=${timestamp}`),
    };
  });

  app.get<LogsQuery>('/v1/apps/:app/logs/lines', { config: { auth: false } }, async (request, reply) => {
    const { token, n, filter, stream } = request.query;
    if (stream === 'true') throw new HttpError(400, 'stream_unsupported', 'Following logs (stream=true, a WebSocket) is not offered here: read the last lines (stream=false), or follow them on the native API (GET /api/apps/apps/<app>/logs/?stream=true).');
    const count = n === undefined || n === '' ? DEFAULT_LINES : Number(n);
    const lines = await logs.tailByLink(request.params.app, token ?? '', { n: count, source: filter || undefined });
    if (!lines.length) return reply.code(204).send();
    return reply.type('text/plain; charset=utf-8').send(lines.map(logLine).join(''));
  });
}
