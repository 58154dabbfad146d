import type { Route } from './routes.ts';

/** What the router's nginx serves; paths are relative to its prefix directory. */
export interface NginxConfigInput {
  /** The address the listeners listen on. */
  host: string;
  httpPort: number;
  /** 0: no HTTPS listener. */
  httpsPort: number;
  /** How long a stop lets requests and upgraded connections in flight finish. */
  drainSeconds: number;
  /** Routes by host name. */
  hosts: Map<string, Route>;
  /** The files of each host's certificate (chain) and key, for HTTPS chosen by SNI. */
  certificates: Map<string, { cert: string; key: string }>;
}

export const ACCESS_LOG = 'access.log';

/** Host names, app ids and process addresses go into the configuration as they are: anything else is left out. */
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const APP_ID = /^[\w-]{1,64}$/;
const BACKEND = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/;
const FILE = /^[\w./-]+$/;

/** An nginx string: variables would be read in it, so text that has none. */
function quoted(text: string): string {
  if (text.includes('$')) throw new Error(`no variables in router pages: ${text}`);
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const page = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>body{font-family:sans-serif;margin:4em auto;max-width:36em;color:#333}</style></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`;

const listen = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** An answer of the router's own: an HTML page, with the request id. */
const own = (status: number, html: string, headers: string[] = []) =>
  [`default_type "text/html; charset=utf-8";`, `add_header X-Request-Id $nimbus_request_id always;`, ...headers, `return ${status} ${quoted(html)};`];

/** A block inside `http`, its lines indented under it. */
const block = (head: string, lines: string[]): string[] => [`  ${head} {`, ...lines.map((line) => `    ${line}`), '  }'];

/**
 * The locations of one host of an app: proxied over its web processes, a 503 page while none
 * is up, or (plain HTTP to a host with a certificate, with force_https) a redirect to HTTPS.
 */
function appLocations(route: Route, upstream: string, redirect: string | undefined): string[] {
  if (redirect) {
    // 301 keeps GET a GET; 308 keeps any other method and its body.
    return [
      'location / {',
      '  add_header X-Request-Id $nimbus_request_id always;',
      `  if ($request_method ~ ^(GET|HEAD)$) { return 301 ${redirect}$request_uri; }`,
      `  return 308 ${redirect}$request_uri;`,
      '}',
    ];
  }
  if (!route.backends.some((b) => BACKEND.test(b))) {
    const unavailable = page('Application unavailable', `No process of the app ${route.appName} is running right now. It may be starting, deploying or crashed; try again in a moment.`);
    return ['location / {', ...own(503, unavailable, ['add_header Retry-After 5 always;']).map((l) => `  ${l}`), '}'];
  }
  return [
    'location / {',
    `  proxy_pass http://${upstream};`,
    '  add_header X-Request-Id $nimbus_answer_id always;',
    '}',
    'location = /.nimbus-router/bad-gateway {',
    '  internal;',
    ...own(502, page('Bad gateway', `The app ${route.appName} did not answer.`)).map((l) => `  ${l}`),
    '}',
    'error_page 502 504 /.nimbus-router/bad-gateway;',
  ];
}

/**
 * The whole configuration of the router's nginx: one master and one worker (it serves tens of
 * thousands of requests a second; the apps' processes get the other cores), a server per host
 * name, an upstream per app with kept-alive connections, round robin over its web processes.
 * Returns the text and the entries left out because a name, id or address was not one.
 */
export function nginxConfig(input: NginxConfigInput): { text: string; skipped: string[] } {
  const skipped: string[] = [];
  const upstreams: string[] = [];
  const servers: string[] = [];
  const appOfHost: string[] = [];
  /** Upstream names by app id: one per app, however many hosts name it. */
  const upstreamOf = new Map<string, string>();
  const tlsPort = input.httpsPort;
  for (const [host, route] of input.hosts) {
    if (!HOST_NAME.test(host) || !APP_ID.test(route.appId)) {
      skipped.push(host);
      continue;
    }
    let upstream = upstreamOf.get(route.appId);
    if (upstream === undefined) {
      upstream = `app_${route.appId}`;
      upstreamOf.set(route.appId, upstream);
      const backends = route.backends.filter((b) => BACKEND.test(b));
      skipped.push(...route.backends.filter((b) => !BACKEND.test(b)));
      if (backends.length) upstreams.push(...block(`upstream ${upstream}`, [...backends.map((b) => `server ${b};`), 'keepalive 64;', 'keepalive_requests 100000;']));
    }
    appOfHost.push(`    ${host} ${route.appId};`);
    const certificate = input.certificates.get(host);
    const withCertificate = certificate && FILE.test(certificate.cert) && FILE.test(certificate.key) ? certificate : undefined;
    const redirect = route.forceHttps && withCertificate && tlsPort ? `https://$host${tlsPort === 443 ? '' : `:${tlsPort}`}` : undefined;
    servers.push(...block('server', [`listen ${listen(input.host, input.httpPort)};`, `server_name ${host};`, ...appLocations(route, upstream, redirect)]));
    if (withCertificate && tlsPort) {
      servers.push(...block('server', [`listen ${listen(input.host, tlsPort)} ssl;`, `server_name ${host};`, `ssl_certificate ${withCertificate.cert};`, `ssl_certificate_key ${withCertificate.key};`, ...appLocations(route, upstream, undefined)]));
    }
  }
  const noApp = page('No app here', 'No app is served at this address.');
  const text = [
    '# Written by nimbus serve for its apps router; every change of the routes writes it again.',
    'daemon off;',
    'worker_processes 1;',
    'pid nginx.pid;',
    'error_log stderr warn;',
    `worker_shutdown_timeout ${Math.max(1, Math.ceil(input.drainSeconds))}s;`,
    'events { worker_connections 4096; }',
    'http {',
    '  server_tokens off;',
    '  server_names_hash_max_size 65536;',
    '  server_names_hash_bucket_size 256;',
    '  map_hash_max_size 65536;',
    '  map_hash_bucket_size 256;',
    '  client_body_temp_path temp/body;',
    '  proxy_temp_path temp/proxy;',
    '  fastcgi_temp_path temp/fastcgi;',
    '  uwsgi_temp_path temp/uwsgi;',
    '  scgi_temp_path temp/scgi;',
    '  keepalive_timeout 65s;',
    '  keepalive_requests 100000;',
    '  client_max_body_size 0;',
    // Bodies stream both ways, as they come.
    '  proxy_request_buffering off;',
    '  proxy_buffering off;',
    '  proxy_http_version 1.1;',
    '  proxy_read_timeout 1h;',
    '  proxy_send_timeout 1h;',
    // A request nginx may send again (its method is idempotent) goes to another process when one refused it or closed a kept-alive connection under it.
    '  proxy_next_upstream error timeout;',
    '  proxy_next_upstream_tries 2;',
    // The client's X-Request-Id when it is one (letters, digits and ._:@-, up to 200), else nginx's own.
    '  map $http_x_request_id $nimbus_request_id { "~^[\\w.:@-]{1,200}$" $http_x_request_id; default $request_id; }',
    // The request id goes back with the answer unless the process set one.
    '  map $upstream_http_x_request_id $nimbus_answer_id { "" $nimbus_request_id; default ""; }',
    '  map $http_upgrade $nimbus_connection { "" ""; default upgrade; }',
    '  map $host $nimbus_app {',
    '    default "";',
    ...appOfHost,
    '  }',
    '  proxy_set_header Host $http_host;',
    '  proxy_set_header Connection $nimbus_connection;',
    '  proxy_set_header Upgrade $http_upgrade;',
    '  proxy_set_header Keep-Alive "";',
    '  proxy_set_header Proxy-Connection "";',
    '  proxy_set_header TE "";',
    '  proxy_set_header Trailer "";',
    '  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '  proxy_set_header X-Forwarded-Proto $scheme;',
    '  proxy_set_header X-Forwarded-Host $http_host;',
    '  proxy_set_header X-Forwarded-Port $server_port;',
    '  proxy_set_header X-Request-Id $nimbus_request_id;',
    // Read by access-log.ts. Only the last two fields may hold spaces; nginx writes a `"` in a value as \x22.
    `  log_format nimbus '$nimbus_app $msec $status $request_time $nimbus_request_id $remote_addr "$upstream_addr" "$request"';`,
    `  access_log ${ACCESS_LOG} nimbus buffer=64k flush=100ms if=$nimbus_app;`,
    ...upstreams,
    ...block('server', [`listen ${listen(input.host, input.httpPort)} default_server;`, 'location / {', ...own(404, noApp).map((l) => `  ${l}`), '}']),
    // A TLS client naming no host with a certificate fails its handshake.
    ...(tlsPort ? block('server', [`listen ${listen(input.host, tlsPort)} ssl default_server;`, 'ssl_reject_handshake on;']) : []),
    ...servers,
    '}',
    '',
  ].join('\n');
  return { text, skipped };
}
