import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { type Backend, createUpstreams } from './upstream.ts';

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
/** Errors before any answer after which a request without a body goes to another process: it was not taken, or its kept-alive connection was closed under it. */
const RETRIED = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** Request headers not passed on as they came: hop-by-hop ones, and those the router sets. */
const REPLACED = new Set([...HOP_BY_HOP, 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-request-id']);

const page = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>body{font-family:sans-serif;margin:4em auto;max-width:36em;color:#333}</style></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`;

/** The route name a `Host` value names: lower case, without its port or a final dot. */
function hostName(host: string): string {
  return host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
}

/**
 * A request's headers as the router reads them, in one pass over the raw ones (Node's parsed
 * `headers` object is never built): what is passed on as it came, the first `Host`, the
 * client's `X-Request-Id` when it sent one valid one, and the `X-Forwarded-For` it sent.
 */
interface RequestHeaders {
  /** Name, value, name, value... without the hop-by-hop ones and those the router sets. */
  passed: string[];
  host: string;
  requestId: string | undefined;
  forwardedFor: string | undefined;
  upgrade: string | undefined;
  /** The client sent its body chunked (its length unknown ahead). */
  chunked: boolean;
}

function readHeaders(raw: string[]): RequestHeaders {
  const passed: string[] = [];
  let host: string | undefined;
  let requestId: string | undefined;
  let ids = 0;
  let forwardedFor: string | undefined;
  let upgrade: string | undefined;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (!REPLACED.has(lower)) {
      // Only the first Host counts (as in Node's parsed headers).
      if (lower === 'host') {
        if (host !== undefined) continue;
        host = value;
      }
      passed.push(name, value);
    } else if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    else if (lower === 'x-request-id') {
      requestId = value;
      ids += 1;
    } else if (lower === 'upgrade') upgrade = value;
    else if (lower === 'transfer-encoding') chunked = true;
  }
  return { passed, host: host ?? '', requestId: ids === 1 && REQUEST_ID.test(requestId!) ? requestId : undefined, forwardedFor, upgrade, chunked };
}

/** A route as the router uses it: its processes parsed, and whose turn it is. */
interface Target {
  route: Route;
  backends: Backend[];
  turn: number;
}

/**
 * The apps router: a reverse proxy (node:http's server toward clients, `upstream.ts` toward the
 * processes) that sends each request to one of the web processes of the app its `Host` names,
 * in turn (round robin), over kept-alive connections.
 * Bodies stream both ways; WebSocket and other upgrades are spliced through. It sets
 * `X-Forwarded-For/-Proto/-Host/-Port` and `X-Request-Id` (the client's when valid), answers a
 * clear 503 page when no process is up and 404 for an unknown host, and gives every request's
 * access line to `access`. A request without a body that cannot connect to a process, or whose
 * kept-alive connection was closed under it, is tried once more, on another process when there
 * is one. It routes by the last `update` it was given.
 */
export function createRouter(options: RouterOptions) {
  let routes = new Map<string, Target>();
  /** TLS contexts by host name, made once per version of each certificate. */
  let contexts = new Map<string, { version: string; context: tls.SecureContext }>();
  let secureListener: https.Server | undefined;
  const listeners: (http.Server | https.Server)[] = [];
  /** Client connections spliced to a process (upgrades): cut when a drain runs out of time. */
  const spliced = new Set<Duplex>();
  let closing = false;
  const upstreams = createUpstreams();

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

  /** The next process of `target` in turn, other than `avoid` when given. */
  function pick(target: Target, avoid?: Backend): Backend | undefined {
    const candidates = avoid ? target.backends.filter((b) => b !== avoid) : target.backends;
    if (!candidates.length) return undefined;
    target.turn += 1;
    return candidates[target.turn % candidates.length];
  }

  /** The headers sent to a process: the client's, then `X-Forwarded-For/-Proto/-Host/-Port` and `X-Request-Id`. */
  function forwardedHeaders(request: IncomingMessage, read: RequestHeaders, requestId: string, { port, secure }: Entry): string[] {
    const client = request.socket.remoteAddress ?? '';
    return read.passed.concat(
      'x-forwarded-for', read.forwardedFor ? `${read.forwardedFor}, ${client}` : client,
      'x-forwarded-proto', secure ? 'https' : 'http',
      'x-forwarded-host', read.host,
      'x-forwarded-port', String(port),
      'x-request-id', requestId,
    );
  }

  /** The head written to a process: the request line, the client's headers, then `X-Forwarded-For/-Proto/-Host/-Port` and `X-Request-Id`. */
  function forwardedHead(request: IncomingMessage, read: RequestHeaders, requestId: string, entry: Entry): string {
    const headers = forwardedHeaders(request, read, requestId, entry);
    // Header names and values were read by llhttp, which refuses CR and LF in them.
    let head = `${request.method} ${request.url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    return `${head}${read.chunked ? 'transfer-encoding: chunked\r\n' : ''}\r\n`;
  }

  /** A process's answer headers for the client: without hop-by-hop ones (the server frames the body again), with the request id unless it set one. */
  function answerHeaders(raw: string[], requestId: string): string[] {
    const headers: string[] = [];
    let identified = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) continue;
      if (lower === 'x-request-id') identified = true;
      headers.push(name, raw[i + 1]!);
    }
    if (!identified) headers.push('x-request-id', requestId);
    // Draining: each connection ends with the answer it is giving.
    if (closing) headers.push('connection', 'close');
    return headers;
  }

  /** An answer of the router's own. */
  function answer(response: ServerResponse, status: number, requestId: string, headers: Record<string, string>, body?: string): void {
    response.writeHead(status, { 'x-request-id': requestId, ...(closing ? { connection: 'close' } : {}), ...headers }).end(body);
  }

  function handle(request: IncomingMessage, response: ServerResponse, entry: Entry): void {
    const started = performance.now();
    const read = readHeaders(request.rawHeaders);
    const requestId = read.requestId ?? randomUUID();
    const host = hostName(read.host);
    const target = routes.get(host);
    if (!target) {
      answer(response, 404, requestId, { 'content-type': 'text/html; charset=utf-8' }, page('No app here', `No app is served at ${host || 'this address'}.`));
      return;
    }
    const { route } = target;
    const log = (status: number, backend: string) => {
      const ms = performance.now() - started;
      options.access(route.appId, `${request.socket.remoteAddress ?? '-'} "${request.method} ${request.url} HTTP/${request.httpVersion}" ${status} ${ms.toFixed(1)}ms backend=${backend} request_id=${requestId}`);
    };
    const location = route.forceHttps && !entry.secure ? httpsLocation(request, host) : undefined;
    if (location) {
      // 301 keeps GET a GET; 308 keeps any other method and its body.
      const status = request.method === 'GET' || request.method === 'HEAD' ? 301 : 308;
      answer(response, status, requestId, { location, 'content-length': '0' });
      log(status, '-');
      return;
    }
    const bodyless = request.method === 'GET' || request.method === 'HEAD';
    const head = forwardedHead(request, read, requestId, entry);
    // The body is streamed once: a request with one is never sent again.
    const body = bodyless ? undefined : { source: request, chunked: read.chunked };
    const send = (backend: Backend | undefined, retried: boolean): void => {
      if (!backend) {
        answer(response, 503, requestId, { 'content-type': 'text/html; charset=utf-8', 'retry-after': '5' }, page('Application unavailable', `No process of the app ${route.appName} is running right now. It may be starting, deploying or crashed; try again in a moment.`));
        log(503, '-');
        return;
      }
      let status = 502;
      const sent = upstreams.send(backend, head, { skipBody: request.method === 'HEAD', body }, {
        onHead(answered, raw) {
          status = answered;
          try {
            response.writeHead(status, answerHeaders(raw, requestId));
          } catch (error) {
            // A header Node refuses to send (a control character in it): the answer cannot be passed on.
            sent.abort();
            this.onError(error as NodeJS.ErrnoException, false);
          }
        },
        onBody: (chunk) => response.write(chunk),
        onEnd() {
          response.end();
          log(status, backend.name);
        },
        onError(error, answered) {
          if (!answered && !response.headersSent && bodyless && !retried && RETRIED.has(error.code ?? '')) {
            // Another process when there is one; else this one again, on a new connection.
            send(pick(target, backend) ?? backend, true);
            return;
          }
          if (!response.headersSent) answer(response, 502, requestId, { 'content-type': 'text/html; charset=utf-8' }, page('Bad gateway', `The app ${route.appName} did not answer.`));
          else response.destroy();
          log(502, backend.name);
        },
      });
      response.on('drain', sent.resume);
      // A client gone before its answer ended: the process's connection is mid-answer, so it is closed.
      response.once('close', () => {
        if (!response.writableFinished) sent.abort();
      });
    };
    send(pick(target), false);
  }

  function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, entry: Entry): void {
    const read = readHeaders(request.rawHeaders);
    const target = routes.get(hostName(read.host));
    const backend = target && pick(target);
    if (!target || !backend) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const requestId = read.requestId ?? randomUUID();
    const headers = [...forwardedHeaders(request, read, requestId, entry), 'connection', 'Upgrade', 'upgrade', read.upgrade ?? ''];
    spliced.add(socket);
    const upstream = net.connect(backend.port, backend.address, () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
      options.access(target.route.appId, `${request.socket.remoteAddress ?? '-'} "${request.method} ${request.url} HTTP/${request.httpVersion}" upgrade backend=${backend.name} request_id=${requestId}`);
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
      // One target per route, however many hosts name it.
      const targets = new Map<Route, Target>();
      routes = new Map();
      for (const [host, route] of next.hosts) {
        let target = targets.get(route);
        if (!target) {
          const backends = route.backends.map((name) => {
            const colon = name.lastIndexOf(':');
            return { name, address: name.slice(0, colon), port: Number(name.slice(colon + 1)) };
          });
          targets.set(route, (target = { route, backends, turn: 0 }));
        }
        routes.set(host, target);
      }
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
      upstreams.destroy();
    },
  };
}

const DRAIN_SWEEP_MS = 50;
