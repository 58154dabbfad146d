import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { nginxConfig, type NginxConfigInput } from '../../../src/backends/router/nginx-config.ts';
import type { Route } from '../../../src/backends/router/routes.ts';

const shop: Route = { appId: 'app-shop', appName: 'shop', forceHttps: true, backends: ['10.0.0.2:5000', '10.0.0.3:5000'] };
const idle: Route = { appId: 'app-idle', appName: 'idle', forceHttps: false, backends: [] };

const input = (hosts: [string, Route][], certificates: NginxConfigInput['certificates'] = new Map()): NginxConfigInput => ({
  host: '127.0.0.1',
  httpPort: 8090,
  httpsPort: 8453,
  drainSeconds: 10,
  hosts: new Map(hosts),
  certificates,
});

/** The server block naming `host` and listening on `port`. */
function serverOf(text: string, host: string, port: number): string {
  const blocks = text.split(/\n {2}server \{\n/).slice(1).map((rest) => rest.slice(0, rest.indexOf('\n  }')));
  const found = blocks.find((b) => b.includes(`server_name ${host};`) && b.includes(`listen 127.0.0.1:${port}`));
  assert.ok(found, `a server for ${host} on ${port}`);
  return found;
}

describe('the router nginx configuration', () => {
  it('has a server per host and an upstream per app over its processes', () => {
    const { text, skipped } = nginxConfig(input([['shop.apps.test', shop], ['www.shop.example', shop], ['idle.apps.test', idle]]));
    assert.deepEqual(skipped, []);
    assert.equal(text.match(/upstream app_app-shop \{/g)?.length, 1, 'one upstream for both hosts of an app');
    assert.match(text, /server 10\.0\.0\.2:5000;\n\s+server 10\.0\.0\.3:5000;/);
    assert.match(serverOf(text, 'www.shop.example', 8090), /proxy_pass http:\/\/app_app-shop;/);
    assert.match(serverOf(text, 'idle.apps.test', 8090), /return 503 ".*No process of the app idle is running/);
    assert.match(text, /map \$host \$nimbus_app \{[^}]*shop\.apps\.test app-shop;[^}]*www\.shop\.example app-shop;/);
    assert.match(text, /listen 127\.0\.0\.1:8090 default_server;[\s\S]*return 404/);
  });

  it('redirects to HTTPS only the hosts that have a certificate, with force_https', () => {
    const { text } = nginxConfig(input([['shop.apps.test', shop], ['secure.example.com', shop]], new Map([['secure.example.com', { cert: 'certs/a.pem', key: 'certs/a.key' }]])));
    assert.match(serverOf(text, 'secure.example.com', 8090), /return 301 https:\/\/\$host:8453\$request_uri;[\s\S]*return 308 https:\/\/\$host:8453\$request_uri;/);
    const secure = serverOf(text, 'secure.example.com', 8453);
    assert.match(secure, /listen 127\.0\.0\.1:8453 ssl;\n\s+server_name secure\.example\.com;\n\s+ssl_certificate certs\/a\.pem;\n\s+ssl_certificate_key certs\/a\.key;/);
    assert.match(secure, /proxy_pass http:\/\/app_app-shop;/);
    assert.match(serverOf(text, 'shop.apps.test', 8090), /proxy_pass/, 'no certificate: served over HTTP');
    assert.match(text, /listen 127\.0\.0\.1:8453 ssl default_server;\n\s+ssl_reject_handshake on;/);
    assert.doesNotMatch(nginxConfig({ ...input([['secure.example.com', shop]]), httpsPort: 0 }).text, /8453|ssl/);
  });

  it('leaves out whatever is no host name, app id or address, so nothing can be written into it', () => {
    const hostile: Route = { appId: 'x; } server { listen 80', appName: 'x', forceHttps: false, backends: [] };
    const { text, skipped } = nginxConfig(input([
      ['evil.example.com; } server { listen 80', shop],
      ['ok.apps.test', { ...shop, backends: ['10.0.0.2:5000; proxy_pass http://169.254.169.254', '10.0.0.4:5000'] }],
      ['hostile.apps.test', hostile],
      ['UPPER.example.com', shop],
    ], new Map([['ok.apps.test', { cert: 'certs/a.pem;include /etc/shadow', key: 'certs/a.key' }]])));
    assert.deepEqual(skipped.sort(), ['10.0.0.2:5000; proxy_pass http://169.254.169.254', 'UPPER.example.com', 'evil.example.com; } server { listen 80', 'hostile.apps.test'].sort());
    for (const injected of ['listen 80', '169.254.169.254', '/etc/shadow', 'hostile']) assert.ok(!text.includes(injected), injected);
    assert.match(text, /server 10\.0\.0\.4:5000;/);
  });

  it('is a configuration nginx accepts', { skip: spawnSync('nginx', ['-v']).error ? 'needs nginx (apt-get install nginx-light)' : false }, () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-nginx-config-'));
    try {
      fs.mkdirSync(path.join(prefix, 'temp'));
      const { text } = nginxConfig(input([['shop.apps.test', shop], ['idle.apps.test', idle], ['www.shop.example', { ...shop, forceHttps: false }]]));
      fs.writeFileSync(path.join(prefix, 'nginx.conf'), text);
      const checked = spawnSync('nginx', ['-t', '-p', `${prefix}/`, '-c', 'nginx.conf', '-e', 'stderr'], { encoding: 'utf8' });
      assert.equal(checked.status, 0, checked.stderr);
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });
});
