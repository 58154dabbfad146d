import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { TestApp } from './app.ts';

export interface RouterAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request to the test app's apps router with the given `Host` (fetch cannot set it). */
export function viaRouter(app: TestApp, host: string, path = '/', headers: Record<string, string> = {}): Promise<RouterAnswer> {
  const port = app.nimbus.router!.ports.http;
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, headers: { ...headers, host }, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** A request to the test app's apps router over HTTPS, naming `servername` by SNI and trusting only `ca`; also says which certificate the router chose. */
export function viaRouterTls(app: TestApp, servername: string, ca: string, path = '/'): Promise<RouterAnswer & { subject: string }> {
  const port = app.nimbus.router!.ports.https!;
  return new Promise((resolve, reject) => {
    const request = https.request({ host: '127.0.0.1', port, path, servername, ca, headers: { host: servername }, agent: false }, (response) => {
      const subject = String((response.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body, subject }));
    });
    request.on('error', reject);
    request.end();
  });
}
