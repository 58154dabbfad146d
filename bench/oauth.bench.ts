// OAuth figures: API requests authenticated by an OAuth access token (against an API token for
// comparison), client_credentials and refresh_token exchanges, and a consent sign-in.
// Goal: an OAuth access token costs the API no more than 20% over an API token (both cached).
// Run: npm run bench oauth   (NIMBUS_BENCH_DATABASE_URL=postgres://... for PostgreSQL)
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { createNimbus } from '../src/app.ts';
import { bootstrapIfEmpty } from '../src/core/bootstrap.ts';
import { DEFAULT_IDENTITY_SETTINGS } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { percent, reportGoal } from './support/goals.ts';
import { BENCH_RATE_LIMIT } from './support/processes.ts';

const DURATION_S = 5;
const TARGET_OAUTH_RATIO = 0.8;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-'));
const identity = { ...DEFAULT_IDENTITY_SETTINGS, rateLimitPerCredential: BENCH_RATE_LIMIT, rateLimitPerAddress: BENCH_RATE_LIMIT };
const nimbus = await createNimbus({ bodyLimit: 1 << 20, databaseUrl: process.env.NIMBUS_BENCH_DATABASE_URL, dataDir, identity }, createLogger('silent'));
const boot = await bootstrapIfEmpty(nimbus.store, nimbus.services.tokens, { adminPassword: 'bench password' });
await nimbus.http.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(nimbus.http.server.address() as AddressInfo).port}`;

const json = async (url: string, init: RequestInit) => {
  const res = await fetch(base + url, init);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, string>>;
};
const client = await json('/api/oauth/applications/', {
  method: 'POST',
  headers: { authorization: `token="${boot?.token}"`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'bench', redirect_uris: ['https://bench.example/cb'], scopes: ['public', 'dns_read'] }),
});
const basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
const form = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' };
const accessToken = (await json('/api/oauth/token', { method: 'POST', headers: form, body: 'grant_type=client_credentials' })).access_token;

async function load(title: string, pathname: string, options: Partial<autocannon.Options>) {
  const result = await autocannon({ url: base + pathname, connections: 10, duration: DURATION_S, ...options });
  console.log(`${title}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}`);
  if (result.non2xx + result.errors > 0) process.exitCode = 1;
  return Math.round(result.requests.average);
}

console.log(`database: ${nimbus.store.dialect}, ${DURATION_S} s per load test, 10 connections`);
// Warm-up with both credentials first: the first seconds under load run colder (JIT, caches).
for (const authorization of [`token="${boot?.token}"`, `Bearer ${accessToken}`]) await autocannon({ url: `${base}/api/status/`, connections: 10, duration: 2, headers: { authorization } });
const apiTokenRate = await load('GET /api/status/ with an API token (cached)', '/api/status/', { headers: { authorization: `token="${boot?.token}"` } });
const oauthRate = await load('GET /api/status/ with an OAuth access token', '/api/status/', { headers: { authorization: `Bearer ${accessToken}` } });
const oauthRatio = oauthRate / apiTokenRate;
reportGoal({ bench: 'oauth', figure: `GET /api/status/ with an OAuth access token vs an API token (${nimbus.store.dialect})`, measured: `${oauthRate} vs ${apiTokenRate} req/s: ${percent(oauthRatio)}`, goal: `≥ ${percent(TARGET_OAUTH_RATIO)}`, met: oauthRatio >= TARGET_OAUTH_RATIO });
await load('POST /api/oauth/token client_credentials', '/api/oauth/token', { method: 'POST', headers: form, body: 'grant_type=client_credentials' });

// Refresh rotation is sequential by nature (each refresh token is used once).
const grant = await (async () => {
  const signIn = await nimbus.services.oauth.signIn.signIn('admin', 'bench password', { requestId: 'bench', clientAddress: '127.0.0.1' });
  const application = await nimbus.services.oauth.applications.findByClientId(client.client_id!);
  const code = await nimbus.services.oauth.server.approve({ application: application!, redirectUri: 'https://bench.example/cb', scopes: ['dns_read'], state: undefined, codeChallenge: null }, signIn!.user.id);
  return json('/api/oauth/token', { method: 'POST', headers: form, body: `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent('https://bench.example/cb')}` });
})();
let refreshToken = grant.refresh_token!;
const ROTATIONS = 300;
let started = performance.now();
for (let i = 0; i < ROTATIONS; i++) {
  refreshToken = (await json('/api/oauth/token', { method: 'POST', headers: form, body: `grant_type=refresh_token&refresh_token=${refreshToken}` })).refresh_token!;
}
console.log(`refresh_token rotation, sequential: ${((performance.now() - started) / ROTATIONS).toFixed(2)} ms each (${ROTATIONS} rotations)`);

const SIGN_INS = 20;
started = performance.now();
for (let i = 0; i < SIGN_INS; i++) await nimbus.services.oauth.signIn.signIn('admin', 'bench password', { requestId: 'bench', clientAddress: '127.0.0.1' });
console.log(`consent sign-in (Argon2id verify + session token): ${((performance.now() - started) / SIGN_INS).toFixed(1)} ms each`);

await nimbus.close();
fs.rmSync(dataDir, { recursive: true, force: true });
