import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

/** Where the router sends a host's requests. */
export interface Route {
  appId: string;
  appName: string;
  forceHttps: boolean;
  /** `address:port` of each web process that is up. */
  backends: string[];
}

/** A custom domain's certificate; `version` changes whenever the certificate or key does. */
export interface RouteCertificate {
  version: string;
  cert: string;
  /** The private key in PEM, read only when the router has no context for this version yet. */
  key(): string;
}

export interface RouteSet {
  /** Routes by host name. */
  hosts: Map<string, Route>;
  /** Certificates by host name, for HTTPS (chosen by SNI). */
  certificates: Map<string, RouteCertificate>;
}

/** A certificate as the router receives it: the key only with a version it has not had yet. */
export interface SentCertificate {
  version: string;
  cert: string;
  key?: string;
}

/** The routes handed to the router: what a `RouteSet` holds, with the keys it needs. */
export interface RouteUpdate {
  hosts: Map<string, Route>;
  certificates: Map<string, SentCertificate>;
}

export interface RouterOptions {
  /** An access line for the app's logs. */
  access(appId: string, line: string): void;
  onError(error: unknown): void;
}

/** The listener a request came through. */
interface Entry {
  port: number;
  secure: boolean;
}

const REQUEST_ID = /^[\w.:@-]{1,200}$/;
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

const page = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>body{font-family:sans-serif;margin:4em auto;max-width:36em;color:#333}</style></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`;

function hostOf(request: IncomingMessage): string {
  return (request.headers.host ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
}

/**
 * The apps router: a reverse proxy on node:http that sends each request to one of the web
 * processes of the app its `Host` names, in turn (round robin), over kept-alive connections.
 * Bodies stream both ways; WebSocket and other upgrades are spliced through. It sets
 * `X-Forwarded-For/-Proto/-Host/-Port` and `X-Request-Id` (the client's when valid), answers a
 * clear 503 page when no process is up and 404 for an unknown host, and gives every request's
 * access line to `access`. A request without a body that cannot connect to a process is tried
 * once more on another. It routes by the last `update` it was given.
 */
export function createRouter(options: RouterOptions) {
  let routes = new Map<string, Route>();
  /** TLS contexts by host name, made once per version of each certificate. */
  let contexts = new Map<string, { version: string; context: tls.SecureContext }>();
  let secureListener: https.Server | undefined;
  const listeners: (http.Server | https.Server)[] = [];
  /** Client connections spliced to a process (upgrades): cut when a drain runs out of time. */
  const spliced = new Set<Duplex>();
  let closing = false;
  const turns = new Map<string, number>();
  // No Nagle delay on upstream connections: a request's body written after its headers is sent at once.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, noDelay: true });

  /** Contexts for `certificates`, reusing the current ones whose certificate has not changed; one that does not load is reported and left out. */
  function secureContexts(certificates: Map<string, SentCertificate>): typeof contexts {
    const next: typeof contexts = new Map();
    for (const [host, certificate] of certificates) {
      const current = contexts.get(host);
      if (current?.version === certificate.version) {
        next.set(host, current);
        continue;
      }
      // Without its key, a version this router already failed to load: reported then.
      if (certificate.key === undefined) continue;
      try {
        next.set(host, { version: certificate.version, context: tls.createSecureContext({ cert: certificate.cert, key: certificate.key }) });
      } catch (error) {
        options.onError(error);
      }
    }
    return next;
  }

  /** Where a plain HTTP request to an app with force_https goes: its host over HTTPS, when this router serves it so. */
  function httpsLocation(request: IncomingMessage, host: string): string | undefined {
    const port = (secureListener?.address() as net.AddressInfo | null)?.port;
    if (!port || !contexts.has(host)) return undefined;
    return `https://${host}${port === 443 ? '' : `:${port}`}${request.url ?? '/'}`;
  }

  function pick(route: Route, avoid?: string): string | undefined {
    const candidates = route.backends.filter((b) => b !== avoid);
    if (!candidates.length) return undefined;
    const turn = (turns.get(route.appId) ?? 0) + 1;
    turns.set(route.appId, turn);
    return candidates[turn % candidates.length];
  }

  function forwardedHeaders(request: IncomingMessage, requestId: string, { port, secure }: Entry): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = { ...request.headers };
    for (const name of HOP_BY_HOP) delete headers[name];
    const client = request.socket.remoteAddress ?? '';
    const prior = request.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
    headers['x-forwarded-proto'] = secure ? 'https' : 'http';
    headers['x-forwarded-host'] = request.headers.host ?? '';
    headers['x-forwarded-port'] = String(port);
    headers['x-request-id'] = requestId;
    return headers;
  }

  function handle(request: IncomingMessage, response: ServerResponse, entry: Entry): void {
    const started = process.hrtime.bigint();
    const given = request.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    response.setHeader('x-request-id', requestId);
    // Draining: each connection ends with the answer it is giving.
    if (closing) response.setHeader('connection', 'close');
    const host = hostOf(request);
    const route = routes.get(host);
    const log = (status: number, backend: string) => {
      if (!route) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      options.access(route.appId, `${request.socket.remoteAddress ?? '-'} "${request.method} ${request.url} HTTP/${request.httpVersion}" ${status} ${ms.toFixed(1)}ms backend=${backend} request_id=${requestId}`);
    };
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end(page('No app here', `No app is served at ${host || 'this address'}.`));
      return;
    }
    const location = route.forceHttps && !entry.secure ? httpsLocation(request, host) : undefined;
    if (location) {
      // 301 keeps GET a GET; 308 keeps any other method and its body.
      const status = request.method === 'GET' || request.method === 'HEAD' ? 301 : 308;
      response.writeHead(status, { location, 'content-length': '0' }).end();
      log(status, '-');
      return;
    }
    const send = (backend: string | undefined, retried: boolean): void => {
      if (!backend) {
        response.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'retry-after': '5' }).end(page('Application unavailable', `No process of the app ${route.appName} is running right now. It may be starting, deploying or crashed; try again in a moment.`));
        log(503, '-');
        return;
      }
      const [address, backendPort] = backend.split(':');
      const upstream = http.request({ host: address, port: Number(backendPort), method: request.method, path: request.url, headers: forwardedHeaders(request, requestId, entry), agent });
      upstream.on('response', (answer) => {
        const headers = { ...answer.headers };
        for (const name of HOP_BY_HOP) if (name !== 'transfer-encoding') delete headers[name];
        response.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(response);
        answer.on('end', () => log(answer.statusCode ?? 502, backend));
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        const bodyless = request.method === 'GET' || request.method === 'HEAD';
        if (!response.headersSent && bodyless && !retried && (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' || error.code === 'EHOSTUNREACH')) {
          send(pick(route, backend), true);
          return;
        }
        if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/html; charset=utf-8' }).end(page('Bad gateway', `The app ${route.appName} did not answer.`));
        else response.destroy();
        log(502, backend);
      });
      if (request.method === 'GET' || request.method === 'HEAD') upstream.end();
      else request.pipe(upstream);
    };
    send(pick(route), false);
  }

  function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, entry: Entry): void {
    const route = routes.get(hostOf(request));
    const backend = route && pick(route);
    if (!route || !backend) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [address, backendPort] = backend.split(':');
    const given = request.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const headers = forwardedHeaders(request, requestId, entry);
    headers.connection = 'Upgrade';
    headers.upgrade = request.headers.upgrade;
    spliced.add(socket);
    const upstream = net.connect(Number(backendPort), address, () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
      options.access(route.appId, `${request.socket.remoteAddress ?? '-'} "${request.method} ${request.url} HTTP/${request.httpVersion}" upgrade backend=${backend} request_id=${requestId}`);
    });
    const close = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', close);
    socket.on('error', close);
    socket.once('close', () => spliced.delete(socket));
  }

  /** Hands a listener's requests and upgrades to the router, telling it the listener's port (read once it listens) and scheme. */
  function serve<T extends http.Server | https.Server>(listener: T, secure: boolean): T {
    let entry: Entry = { port: 0, secure };
    listener.on('listening', () => (entry = { port: (listener.address() as net.AddressInfo).port, secure }));
    listener.on('request', (request: IncomingMessage, response: ServerResponse) => handle(request, response, entry));
    listener.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => upgrade(request, socket, head, entry));
    listeners.push(listener);
    return listener;
  }

  /** Stops accepting on `listener` and resolves once its connections are gone: idle ones at once, busy ones after their answer, the rest at `deadline`. */
  async function drain(listener: http.Server | https.Server, deadline: number): Promise<void> {
    if (!listener.listening) return;
    const closed = new Promise((resolve) => listener.close(resolve));
    listener.closeIdleConnections();
    const sweep = setInterval(() => listener.closeIdleConnections(), DRAIN_SWEEP_MS);
    const cut = setTimeout(() => {
      listener.closeAllConnections();
      for (const socket of spliced) socket.destroy();
    }, Math.max(0, deadline - Date.now()));
    await closed;
    clearInterval(sweep);
    clearTimeout(cut);
  }

  return {
    /** The HTTP listener; `listen` it like any node:http server. */
    server: () => serve(http.createServer({ keepAliveTimeout: 65_000 }), false),
    /**
     * The HTTPS listener: each TLS connection gets the certificate of the custom domain its SNI
     * names; a name without one (or no SNI) fails the handshake.
     */
    secureServer(): https.Server {
      secureListener = https.createServer({
        keepAliveTimeout: 65_000,
        SNICallback: (servername, done) => {
          const found = contexts.get(servername.toLowerCase().replace(/\.$/, ''));
          done(found ? null : new Error(`no certificate for ${servername}`), found?.context);
        },
      });
      return serve(secureListener, true);
    },
    /** Routes by `next` from now on. */
    update(next: RouteUpdate): void {
      routes = next.hosts;
      contexts = secureContexts(next.certificates);
    },
    /**
     * Stops accepting, lets the requests and upgraded connections in flight finish for up to
     * `drainMs` (cut then), and closes the kept-alive connections to the processes.
     */
    async close(drainMs: number): Promise<void> {
      closing = true;
      const deadline = Date.now() + drainMs;
      await Promise.all(listeners.map((listener) => drain(listener, deadline)));
      agent.destroy();
    },
  };
}

const DRAIN_SWEEP_MS = 50;
