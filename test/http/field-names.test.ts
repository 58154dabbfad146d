import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFound, ValidationFailed } from '../../src/core/errors.ts';
import { surfaceFieldErrors, surfaceFieldName, withFieldNames } from '../../src/http/field-names.ts';

describe('a surface naming core fields', () => {
  const names = { image_id: 'image', 'volumes.*.size_bytes': 'volumes.*.size', 'a.*.b.*.c': 'x.*.y.*.z', memory_bytes: 'size', vcpus: 'size', 'variables[*].value': 'env[*].static_value' };

  it('renames an exact path, numbered paths through `*` in order, and leaves an unnamed field as it is', () => {
    assert.equal(surfaceFieldName(names, 'image_id'), 'image');
    assert.equal(surfaceFieldName(names, 'volumes.12.size_bytes'), 'volumes.12.size');
    assert.equal(surfaceFieldName(names, 'a.1.b.20.c'), 'x.1.y.20.z');
    assert.equal(surfaceFieldName(names, 'volumes.1.mount_path'), 'volumes.1.mount_path');
    assert.equal(surfaceFieldName(names, 'volumes.x.size_bytes'), 'volumes.x.size_bytes');
    assert.equal(surfaceFieldName(names, 'variables[3].value'), 'env[3].static_value');
    assert.equal(surfaceFieldName(names, 'variables[3].name'), 'variables[3].name');
    // A name inherited from Object.prototype is not a field name.
    assert.equal(surfaceFieldName(names, 'constructor'), 'constructor');
  });

  it('keeps together the messages of fields that one name covers', () => {
    const fields = surfaceFieldErrors(new ValidationFailed({ memory_bytes: ['too small'], vcpus: ['too many'], name: ['blank'] }), names);
    assert.deepEqual({ ...fields }, { size: ['too small', 'too many'], name: ['blank'] });
  });

  it('renames the validation errors of a core call, keeping its non-field errors, and lets any other error through', async () => {
    await assert.rejects(
      withFieldNames(names, async () => {
        throw new ValidationFailed({ image_id: ['missing'] }, ['whole']);
      }),
      (error: unknown) => error instanceof ValidationFailed && error.fields.image?.[0] === 'missing' && !('image_id' in error.fields) && error.nonField[0] === 'whole',
    );
    await assert.rejects(withFieldNames(names, async () => Promise.reject(new NotFound('server'))), NotFound);
    assert.equal(await withFieldNames(names, async () => 7), 7);
  });
});
