import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { DeploymentChange } from '../../core/apps/deployment-feed.ts';
import { DomainError } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { HttpError } from '../../http/errors.ts';
import { deploymentRenderer } from './deployments.ts';
import { IDLE_MS, sendBatches } from './sockets.ts';
import { httpsRequired, isSecure } from './transport.ts';

type AppParams = { Params: { app: string } };

/** Where an app's deployments stream is (`links.deployments_stream`). */
export const deploymentStreamPath = (appId: string) => `/v1/apps/${appId}/deployments/stream`;

/** The socket's credential comes in its first message, within this long. */
const AUTH_WAIT_MS = 10_000;
const CLOSE_REFUSED = 1008;

/** A close frame's reason holds at most 123 bytes. */
const reason = (text: string) => Buffer.from(text).subarray(0, 123).toString('utf8').replace(/\uFFFD$/, '');

/** The token of the socket's first message, `{"type": "auth", "data": {"token": "<bearer>"}}`, or undefined when it is not that. */
function authToken(data: unknown): string | undefined {
  try {
    const message = JSON.parse(String(data)) as { type?: unknown; data?: { token?: unknown } };
    return message?.type === 'auth' && typeof message.data?.token === 'string' && message.data.token !== '' ? message.data.token : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Scalingo's deployments stream: a WebSocket whose first message authenticates it (the clients
 * send `{"type": "auth", "data": {"token"}}` with their bearer, as the upgrade carries none),
 * then `{"id": <deployment>, "type": "new" | "log" | "status", "data"}` as the app's
 * deployments happen (`new` `{deployment}`, `log` `{content}`, `status` `{status}`), and
 * `{"type": "ping"}` in silence. It ends once the caller may no longer read the app.
 */
export function deploymentStreamRoutes(app: FastifyInstance, services: Pick<CoreServices, 'apps' | 'users'>, options: { authenticate: (request: FastifyRequest) => Promise<void>; httpsOnly: boolean }) {
  const { deployments } = services.apps;

  const authenticated = (socket: WebSocket, request: FastifyRequest) =>
    new Promise<boolean>((resolve) => {
      const refuse = (message: string) => {
        socket.close(CLOSE_REFUSED, reason(message));
        resolve(false);
      };
      const timer = setTimeout(() => refuse('No {"type": "auth"} message came: authenticate first.'), AUTH_WAIT_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
      socket.once('message', (data) => {
        clearTimeout(timer);
        const token = authToken(data);
        if (token === undefined) return refuse('The first message must be {"type": "auth", "data": {"token": "<bearer>"}}.');
        if (options.httpsOnly && !isSecure(request)) return refuse(httpsRequired().message);
        // The message's credential is the request's, as if the upgrade had carried it: it is resolved (and resolved again while open) as any.
        request.headers.authorization = `Bearer ${token}`;
        options.authenticate(request).then(
          () => resolve(true),
          (error: unknown) => refuse(error instanceof DomainError ? error.message : 'Authentication failed.'),
        );
      });
    });

  app.route<AppParams>({
    method: 'GET',
    url: '/v1/apps/:app/deployments/stream',
    config: { auth: false },
    handler: async () => {
      throw new HttpError(426, 'upgrade_required', "This is the app's deployments stream, a WebSocket: connect with an Upgrade (ws:// or wss://).");
    },
    wsHandler: (socket, request) => {
      const appRef = (request.params as AppParams['Params']).app;
      void authenticated(socket, request).then((ok) => {
        if (!ok) return;
        const render = deploymentRenderer(services, request);
        void sendBatches<DeploymentChange>(socket, (signal) => deployments.follow(request.actor, appRef, { signal, idleMs: IDLE_MS }), {
          render: async (change) => {
            if (change.kind === 'new') return { id: change.deployment.id, type: 'new', data: { deployment: await render(change.deployment) } };
            if (change.kind === 'output') return { id: change.deploymentId, type: 'log', data: { content: change.content } };
            return { id: change.deployment.id, type: 'status', data: { status: change.deployment.status } };
          },
          ping: { type: 'ping' },
          endedReason: 'You may no longer read this app.',
        });
      });
    },
  });
}
