import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.ts';
import { testDatabases } from '../support/databases.ts';
import { pkcePair, registerApplication, type RegisteredApplication } from '../support/oauth.ts';

const CHROMIUM = '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); elsewhere the browser test says what it needs.
const NO_BROWSER = fs.existsSync(CHROMIUM) ? false : `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium)`;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const STEP_TIMEOUT_MS = 10_000;
// A browser's first start on a fresh, busy machine (font and profile caches) can take well over 30 s.
const LAUNCH_TIMEOUT_MS = 120_000;

/** A minimal third-party web app on loopback: it records the redirects it receives, and can try to frame the consent page. */
async function startClientApp(frameTarget: () => string) {
  const callbacks: URLSearchParams[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (url.pathname === '/callback') {
      callbacks.push(url.searchParams);
      res.end('<!doctype html><title>Client</title><p id="done">Back at the client</p>');
    } else if (url.pathname === '/frame') {
      res.end(`<!doctype html><title>Framer</title><iframe id="victim" src="${frameTarget()}"></iframe>`);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { port, callbacks, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

for (const database of testDatabases) {
  describe(`OAuth consent in a real browser [${database.name}]`, { skip: NO_BROWSER }, () => {
    let app: TestApp;
    let nimbusUrl: string;
    let client: RegisteredApplication;
    let clientApp: Awaited<ReturnType<typeof startClientApp>>;
    let context: BrowserContext;
    let profileDir: string;
    let authorizeUrl: (extra?: Record<string, string>) => string;
    const pkce = pkcePair();

    before(async () => {
      app = await startTestApp(database);
      await app.nimbus.http.listen({ host: '127.0.0.1', port: 0 });
      nimbusUrl = `http://127.0.0.1:${(app.nimbus.http.server.address() as AddressInfo).port}`;
      // Registered without a port: a loopback redirect may come back on any port (RFC 8252).
      client = await registerApplication(app, { name: 'Loopback CLI', client_type: 'public', redirect_uris: ['http://127.0.0.1/callback'], scopes: ['profile_read', 'dns_read', 'dns_write'] });
      clientApp = await startClientApp(() => authorizeUrl());
      authorizeUrl = (extra = {}) =>
        `${nimbusUrl}/api/oauth/authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: client.client_id,
          redirect_uri: `http://127.0.0.1:${clientApp.port}/callback`,
          scope: 'profile_read dns_read',
          state: 'browser-state',
          code_challenge: pkce.challenge,
          code_challenge_method: 'S256',
          ...extra,
        })}`;
      profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-chromium-'));
      context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS });
      context.setDefaultTimeout(STEP_TIMEOUT_MS);
    });
    after(async () => {
      await context?.close();
      fs.rmSync(profileDir, { recursive: true, force: true });
      await clientApp?.close();
      await app?.close();
    });

    it('signs in, approves, and the client exchanges the code with its PKCE verifier', async () => {
      const page = await context.newPage();
      const cspViolations: string[] = [];
      page.on('console', (message) => {
        if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      await page.goto(authorizeUrl());
      assert.equal(await page.title(), 'Authorize Loopback CLI');
      const scopes = await page.locator('li').allTextContents();
      assert.deepEqual(scopes.map((s) => s.trim()), ['See your DNS zones and records. (dns_read)', 'See your profile (name, email) and the list of your API tokens. (profile_read)']);
      // The page's own style applies under its CSP (the nonce works) and nothing was blocked.
      assert.equal(await page.locator('main').evaluate((el) => getComputedStyle(el).borderRadius), '8px');

      await page.fill('#username', 'admin');
      await page.fill('#password', 'wrong password');
      await page.click('button[value=approve]');
      assert.match(await page.locator('[role=alert]').textContent() ?? '', /Wrong user name or password/);
      assert.equal(clientApp.callbacks.length, 0);

      await page.fill('#username', 'admin');
      await page.fill('#password', app.adminPassword);
      await page.click('button[value=approve]');
      await page.waitForURL(/\/callback\?/);
      assert.equal(await page.locator('#done').textContent(), 'Back at the client');
      assert.deepEqual(cspViolations, []);

      const callback = clientApp.callbacks.at(-1)!;
      assert.equal(callback.get('state'), 'browser-state');
      assert.equal(callback.get('iss'), nimbusUrl);
      const code = callback.get('code')!;
      assert.match(code, /^nbocd_/);

      const tokenResponse = await fetch(`${nimbusUrl}/api/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: client.client_id, code, redirect_uri: `http://127.0.0.1:${clientApp.port}/callback`, code_verifier: pkce.verifier }),
      });
      assert.equal(tokenResponse.status, 200);
      const tokens = (await tokenResponse.json()) as { access_token: string; refresh_token: string; scope: string };
      assert.equal(tokens.scope, 'dns_read profile_read');
      const status = await fetch(`${nimbusUrl}/api/status/`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(status.status, 200);
      assert.equal(((await status.json()) as { user: { username: string } }).user.username, 'admin');

      // The session cookie is HttpOnly: the browser keeps it, scripts cannot read it.
      const cookies = await context.cookies(nimbusUrl + '/api/oauth/');
      const session = cookies.find((c) => c.name === 'nimbus_oauth_session');
      assert.ok(session?.httpOnly);
      assert.equal(session.sameSite, 'Lax');
      await page.close();
    });

    it('remembers the signed-in user, and a denial goes back to the client as access_denied', async () => {
      const page = await context.newPage();
      await page.goto(authorizeUrl({ state: 'second' }));
      assert.match((await page.locator('p.muted').first().textContent()) ?? '', /Signed in as admin/);
      assert.equal(await page.locator('#password').count(), 0);
      await page.click('button[value=deny]');
      await page.waitForURL(/\/callback\?/);
      const callback = clientApp.callbacks.at(-1)!;
      assert.equal(callback.get('error'), 'access_denied');
      assert.equal(callback.get('state'), 'second');
      assert.equal(callback.get('code'), null);
      await page.close();
    });

    it('refuses to render inside another site\'s frame', async () => {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${clientApp.port}/frame`);
      // goto waits for the load event, which waits for the frame: its navigation is over.
      const frame = await (await page.waitForSelector('#victim')).contentFrame();
      assert.ok(frame);
      assert.equal(frame.url(), 'chrome-error://chromewebdata/', 'the browser refused to show the page in a frame');
      assert.doesNotMatch(await frame.content(), /csrf_token|Approve/);
      await page.close();
    });
  });
}
