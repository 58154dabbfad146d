import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';

/**
 * The native API's OpenAPI document is its contract with Alpacon's clients: a change to it is
 * made on purpose, by updating the snapshot in the same commit (write the new document over it).
 */
const SNAPSHOT = new URL('./snapshots/openapi.json', import.meta.url);

describe(`the native OpenAPI document [${testDatabases[0]!.name}]`, () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(testDatabases[0]!);
  });
  after(() => app.close());

  it('is the committed snapshot, byte for byte', async () => {
    const response = await app.request({ method: 'GET', url: '/api/schema/', token: null });
    assert.equal(response.statusCode, 200);
    const expected = readFileSync(SNAPSHOT, 'utf8');
    if (response.body !== expected) {
      // A readable difference first: the paths that appeared or went away.
      assert.deepEqual(Object.keys(response.json().paths), Object.keys(JSON.parse(expected).paths));
      assert.deepEqual(response.json(), JSON.parse(expected));
      assert.equal(response.body, expected);
    }
  });
});
