import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../support/compute.ts';
import { testDatabases } from '../support/databases.ts';
import { addOrganization, addUser, GOOD_PASSWORD } from '../support/identity.ts';
import { accountToken, PREFIX } from '../surfaces/scaleway/support.ts';

/**
 * The legacy `scw` CLI (1.x) against the surface, when it can be had: `NIMBUS_SCW` names a
 * binary, or it is built from its published module with this machine's Go. Otherwise the test
 * says why and skips.
 */
const MODULE = 'github.com/scaleway/scaleway-cli/cmd/scw@v1.11.1';

function findScw(): { binary: string } | { reason: string } {
  if (process.env.NIMBUS_SCW) return { binary: process.env.NIMBUS_SCW };
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-scw-'));
  const built = spawnSync('go', ['install', MODULE], { env: { ...process.env, GOBIN: bin, GOFLAGS: '-mod=mod' }, encoding: 'utf8', timeout: 180_000 });
  if (built.error || built.status !== 0) {
    fs.rmSync(bin, { recursive: true, force: true });
    const why = built.error?.message ?? built.stderr.split('\n').filter((line) => line.startsWith('go:')).join(' ');
    return { reason: `the legacy scw CLI could not be built from ${MODULE} (${why})` };
  }
  return { binary: path.join(bin, 'scw') };
}

const found = computeSkipReason() === null ? findScw() : { reason: computeSkipReason()! };
const skip = 'reason' in found ? found.reason : false;

for (const database of testDatabases) {
  describe(`the legacy scw CLI [${database.name}]`, { skip }, () => {
    let app: TestApp;
    let home: string;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      app = await startComputeTestApp(database);
      const organization = await addOrganization(app, 'Cli Co');
      await addUser(app, 'cli-user', { role: 'owner', organization });
      const token = await accountToken(app, 'cli-user', GOOD_PASSWORD);
      const endpoint = `${await app.nimbus.http.listen({ host: '127.0.0.1', port: 0 })}${PREFIX}/`;
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-scw-home-'));
      fs.writeFileSync(path.join(home, '.scwrc'), JSON.stringify({ organization, token, version: 'v1.11.1' }), { mode: 0o600 });
      env = { ...process.env, HOME: home, SCW_ACCOUNT_API: endpoint, SCW_COMPUTE_API: endpoint, SCW_COMPUTE_PAR1_API: endpoint, SCW_COMPUTE_AMS1_API: endpoint };
    });
    after(async () => {
      await app?.close();
      fs.rmSync(home, { recursive: true, force: true });
    });

    const scwRun = (...args: string[]) => {
      const result = spawnSync((found as { binary: string }).binary, args, { env, encoding: 'utf8', timeout: 120_000 });
      assert.equal(result.status, 0, `scw ${args.join(' ')}: ${result.stderr}`);
      return result.stdout.trim();
    };

    it('lists, creates, starts, stops and removes a server', () => {
      const id = scwRun('create', '--name=cli-web', '00000000-0000-4000-8000-0000000b0500');
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.match(scwRun('ps', '-a'), /cli-web/);
      scwRun('start', '--wait', id);
      assert.match(scwRun('ps'), /cli-web/);
      scwRun('stop', '--wait', id);
      scwRun('rm', id);
      assert.doesNotMatch(scwRun('ps', '-a'), /cli-web/);
    });
  });
}
