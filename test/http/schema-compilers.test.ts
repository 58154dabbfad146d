import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { compilePendingSchemas, serializedForm, serializersOnFirstUse, validatorsOnFirstUse } from '../../src/http/schema-compilers.ts';
import { validatorCompiler } from '../../src/http/validation.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { testDatabases } from '../support/databases.ts';

describe('schemas compiled on first use', () => {
  let app: FastifyInstance;
  let compiles = 0;
  before(async () => {
    app = Fastify({ schemaController: serializersOnFirstUse });
    app.setValidatorCompiler(validatorsOnFirstUse((route) => (compiles++, validatorCompiler(route))));
    const Thing = Type.Object({ name: Type.String({ minLength: 1 }), size: Type.Integer({ default: 1 }) });
    app.post('/things', { schema: { body: Thing, querystring: Type.Object({ dry: Type.Boolean({ default: false }) }), response: { 201: Thing } } }, async (request, reply) => {
      reply.code(201);
      // An extra field the response schema does not declare: the serializer must drop it.
      return { ...(request.body as object), dry: (request.query as { dry: boolean }).dry, secret: 'not for the wire' };
    });
    await app.ready();
  });
  after(() => app.close());

  it('compiles nothing before a route is called', () => {
    assert.equal(compiles, 0);
  });

  it('validates, coerces, fills defaults and serializes by the schemas once called', async () => {
    const made = await app.inject({ method: 'POST', url: '/things?dry=true', payload: { name: 'a' } });
    assert.equal(made.statusCode, 201);
    assert.deepEqual(made.json(), { name: 'a', size: 1 });
    assert.equal(compiles, 2);
    const refused = await app.inject({ method: 'POST', url: '/things', payload: { name: '' } });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.json().message, /body\/name/);
    // Compiled once: a second call reuses what the first compiled.
    assert.equal(compiles, 2);
  });
});

describe('the schema a response serializer is compiled from', () => {
  const Id = Type.String({ format: 'uuid' });
  const Item = Type.Object({
    parent: Type.Union([Id, Type.Null()], { description: 'Parent; null for a root.' }),
    size: Type.Union([Type.Null(), Type.Integer()]),
    seen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    either: Type.Union([Type.String(), Type.Integer()]),
    tags: Type.Array(Type.Union([Type.String(), Type.Null()])),
  });

  it('writes a nullable scalar as one schema of two types, and leaves the rest and the original alone', () => {
    const before = JSON.stringify(Item);
    const form = serializedForm(Item) as { properties: Record<string, unknown> };
    assert.equal(JSON.stringify(Item), before);
    assert.deepEqual(form.properties.parent, { type: ['string', 'null'], format: 'uuid', description: 'Parent; null for a root.' });
    assert.deepEqual(form.properties.size, { type: ['integer', 'null'] });
    assert.deepEqual(form.properties.tags, { type: 'array', items: { type: ['string', 'null'] } });
    // A date format tells Date objects apart, and a union of two scalars needs its branches.
    assert.deepEqual(form.properties.seen, JSON.parse(JSON.stringify(Item.properties.seen)));
    assert.deepEqual(form.properties.either, JSON.parse(JSON.stringify(Item.properties.either)));
  });

  it('serializes values and nulls as the union did, and a Date in a date-time as one', async () => {
    const app = Fastify({ schemaController: serializersOnFirstUse });
    const values = [
      { parent: 'a540bf0f-8b37-4f03-8546-dd71c6b03329', size: 3, seen: new Date('2026-12-03T08:00:00.000Z'), either: 2, tags: ['x', null], extra: 'dropped' },
      { parent: null, size: null, seen: null, either: 'two', tags: [] },
    ];
    app.get('/items', { schema: { response: { 200: Type.Array(Item) } } }, async () => values);
    try {
      const answer = await app.inject({ url: '/items' });
      assert.equal(answer.statusCode, 200);
      assert.deepEqual(answer.json(), [
        { parent: 'a540bf0f-8b37-4f03-8546-dd71c6b03329', size: 3, seen: '2026-12-03T08:00:00.000Z', either: 2, tags: ['x', null] },
        { parent: null, size: null, seen: null, either: 'two', tags: [] },
      ]);
    } finally {
      await app.close();
    }
  });
});

for (const database of testDatabases) {
  describe(`every route's schemas compile [${database.name}]`, () => {
    let nimbus: TestApp;
    before(async () => {
      nimbus = await startTestApp(database);
      await nimbus.nimbus.http.ready();
    });
    after(() => nimbus?.close());

    it('compiles every schema Nimbus left for first use, and nothing is left after', () => {
      assert.ok(compilePendingSchemas() > 100);
      assert.equal(compilePendingSchemas(), 0);
      return nimbus.request({ method: 'GET', url: '/api/iam/organizations/' }).then((response) => assert.equal(response.statusCode, 200));
    });
  });
}

describe('null characters', () => {
  it('are refused wherever they are, and the error points at the first one found', () => {
    const validate = validatorCompiler({ schema: { type: 'object' }, httpPart: 'body', method: 'POST', url: '/' }) as unknown as ((data: unknown) => boolean) & { errors: { instancePath: string; keyword: string }[] | null };
    assert.equal(validate({ name: 'plain', tags: [{ 'a/b~c': 'x' }] }), true);
    assert.equal(validate.errors, null);
    assert.equal(validate({ name: 'plain', tags: [{ 'a/b~c': 'x\u0000' }] }), false);
    assert.deepEqual(validate.errors!.map((e) => [e.instancePath, e.keyword]), [['/tags/0/a~1b~0c', 'nullCharacter']]);
    assert.equal(validate({ nested: { ['k\u0000']: 1 } }), false);
    assert.equal(validate.errors![0]!.instancePath, '/nested', 'a key holding one: its object');
    assert.equal(validate('\u0000'), false);
    assert.equal(validate.errors![0]!.instancePath, '');
    // Deeper than the stack would allow a recursive walk: still a clear error, not a crash.
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    assert.equal(validate(deep), false);
    assert.equal(validate.errors![0]!.instancePath, '/a'.repeat(100_000));
  });
});
