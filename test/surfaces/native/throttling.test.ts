import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addUser, GOOD_PASSWORD } from '../../support/identity.ts';

for (const database of testDatabases) {
  describe(`login throttling and rate limits [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database, {
        identity: { maxFailuresPerAccount: 3, maxFailuresPerAddress: 6, rateLimitPerCredential: 25, rateLimitPerAddress: 1000 },
      });
    });
    after(() => app.close());

    const attempt = (username: string, password: string, address = '127.0.0.1') =>
      app.nimbus.http.inject({ method: 'POST', url: '/api/auth/login/', payload: { username, password }, remoteAddress: address });

    it('throttles an account from the guessing address, even with the right password, while its owner logs in from elsewhere', async () => {
      await addUser(app, 'tess');
      for (let i = 0; i < 3; i++) assert.equal((await attempt('tess', 'wrong-password!', '127.0.0.2')).statusCode, 401);
      const blocked = await attempt('tess', GOOD_PASSWORD, '127.0.0.2');
      assert.equal(blocked.statusCode, 429);
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.equal(blocked.json().code, 'throttled');
      assert.equal((await attempt('tess', GOOD_PASSWORD, '127.0.0.3')).statusCode, 200, "the victim's own address is not locked out");
      for (let i = 0; i < 3; i++) assert.equal((await attempt('ghost', 'wrong-password!', '127.0.0.4')).statusCode, 401);
      assert.equal((await attempt('ghost', 'wrong-password!', '127.0.0.4')).statusCode, 429, 'an unknown name is throttled the same way');
    });

    it('counts guesses before checking them: parallel guesses get no more checks than the limit', async () => {
      await addUser(app, 'vic');
      const results = await Promise.all(Array.from({ length: 24 }, (_, i) => attempt('vic', `wrong-password-${i}`, '127.0.1.1')));
      const statuses = results.map((r) => r.statusCode);
      const checked = statuses.filter((s) => s === 401).length;
      // At most the account's three; fewer when the address's count (six) ran out first for some.
      assert.ok(checked <= 3, statuses.join(' '));
      assert.equal(statuses.filter((s) => s === 429).length, 24 - checked);
      const failures = await app.nimbus.store.db.selectFrom('audit_events').select('id').where('action', '=', 'login_failed').where('actor_username', '=', 'vic').execute();
      assert.equal(failures.length, checked, 'only the admitted passwords were checked');
    });

    it('gives back the attempts of a successful login', async () => {
      await addUser(app, 'wanda');
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 2; i++) assert.equal((await attempt('wanda', 'wrong-password!', '127.0.2.1')).statusCode, 401);
        assert.equal((await attempt('wanda', GOOD_PASSWORD, '127.0.2.1')).statusCode, 200);
      }
    });

    it('counts IPv6 clients per /64', async () => {
      await addUser(app, 'yann');
      for (let i = 1; i <= 3; i++) assert.equal((await attempt('yann', 'wrong-password!', `2001:db8:1:2::${i}`)).statusCode, 401);
      assert.equal((await attempt('yann', GOOD_PASSWORD, '2001:db8:1:2:ffff::9')).statusCode, 429, 'the same /64');
      assert.equal((await attempt('yann', GOOD_PASSWORD, '2001:db8:1:3::1')).statusCode, 200, 'another /64');
    });

    it('throttles a client address after failures across accounts', async () => {
      await addUser(app, 'uma');
      for (let i = 0; i < 6; i++) assert.equal((await attempt(`someone${i}`, 'wrong-password!', '127.0.0.9')).statusCode, 401);
      assert.equal((await attempt('uma', GOOD_PASSWORD, '127.0.0.9')).statusCode, 429);
      assert.equal((await attempt('uma', GOOD_PASSWORD, '127.0.0.10')).statusCode, 200);
    });

    it('limits requests per credential with RateLimit headers, then 429 with Retry-After', async () => {
      const user = await addUser(app, 'rita');
      let last;
      for (let i = 0; i < 25; i++) {
        last = await app.request({ method: 'GET', url: '/api/auth/whoami/', token: user.session });
        assert.equal(last.statusCode, 200);
      }
      assert.equal(last!.headers['ratelimit-limit'], '25');
      assert.equal(last!.headers['ratelimit-remaining'], '0');
      assert.ok(Number(last!.headers['ratelimit-reset']) > 0);
      const limited = await app.request({ method: 'GET', url: '/api/auth/whoami/', token: user.session });
      assert.equal(limited.statusCode, 429);
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.equal(limited.json().code, 'throttled');
      // Another credential has its own budget.
      assert.equal((await app.request({ method: 'GET', url: '/api/auth/whoami/' })).statusCode, 200);
    });
  });
}

for (const database of testDatabases) {
  describe(`rate limits without a valid credential [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database, { identity: { rateLimitPerAddress: 3 } });
    });
    after(() => app.close());

    it('counts public requests and failed authentications per client address', async () => {
      const version = await app.request({ method: 'GET', url: '/api/version/', token: null });
      assert.equal(version.headers['ratelimit-remaining'], '2');
      for (let i = 0; i < 2; i++) assert.equal((await app.request({ method: 'GET', url: '/api/status/', token: 'nbpat_not-a-real-token' })).statusCode, 401);
      const limited = await app.request({ method: 'GET', url: '/api/status/', token: 'nbpat_not-a-real-token' });
      assert.equal(limited.statusCode, 429);
      assert.ok(Number(limited.headers['retry-after']) > 0);
      // A valid credential is limited by its own budget, not the address's.
      assert.equal((await app.request({ method: 'GET', url: '/api/status/' })).statusCode, 200);
      const other = await app.nimbus.http.inject({ method: 'GET', url: '/api/version/', remoteAddress: '127.0.0.7' });
      assert.equal(other.statusCode, 200);
    });

    it('counts the OAuth endpoints per client address too', async () => {
      const post = (url: string) =>
        app.nimbus.http.inject({ method: 'POST', url, remoteAddress: '127.0.3.1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials&client_id=x&client_secret=y' });
      for (const url of ['/api/oauth/token', '/api/oauth/introspect', '/api/oauth/revoke']) assert.notEqual((await post(url)).statusCode, 429, url);
      const limited = await post('/api/oauth/token');
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().error, 'slow_down');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      const page = await app.nimbus.http.inject({ method: 'GET', url: '/api/oauth/authorize?client_id=x', remoteAddress: '127.0.3.1' });
      assert.equal(page.statusCode, 429);
    });
  });
}
