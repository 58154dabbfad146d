import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LINE_MAX, parseCommandRequest as parseWith, type CommandRequest } from '../../../src/core/commands/command-input.ts';
import { splitText } from '../../../src/core/commands/output-recorder.ts';

const SERVER = '0b8c6a52-5d2e-4f0e-9d7e-0c8c1f3f2a11';
const TIMEOUTS = { defaultSeconds: 600, maxSeconds: 3600 };
const parseCommandRequest = (request: CommandRequest) => parseWith(request, TIMEOUTS);

describe('command requests', () => {
  it('fills the defaults: system shell, root, no env, no prerequisites', () => {
    assert.deepEqual(parseCommandRequest({ line: 'id -u', server: SERVER.toUpperCase() }), {
      spec: { shell: 'system', line: 'id -u', env: {}, username: 'root', groupname: '', serverId: SERVER, runAfter: [], timeoutSeconds: 600 },
    });
  });

  it('keeps what is given, and each prerequisite once', () => {
    const other = '5f0e1b7c-2a4d-4c3b-8e9f-1a2b3c4d5e6f';
    const parsed = parseCommandRequest({ shell: 'system', line: 'env', env: { GREETING: 'hi', _X1: '' }, username: 'nimbus', groupname: '1000', server: SERVER, run_after: [other, other] });
    assert.ok('spec' in parsed);
    assert.deepEqual(parsed.spec.env, { GREETING: 'hi', _X1: '' });
    assert.equal(parsed.spec.username, 'nimbus');
    assert.equal(parsed.spec.groupname, '1000');
    assert.deepEqual(parsed.spec.runAfter, [other]);
  });

  it('reports every bad field at once', () => {
    const parsed = parseCommandRequest({ shell: 'bash', line: '  ', env: { GOOD: 'x', BAD: 3, '1NAME': 'x' }, username: 'no spaces', groupname: 7, server: 'not-a-uuid', run_after: ['x'] });
    assert.ok('errors' in parsed);
    assert.deepEqual(Object.keys(parsed.errors).sort(), ['env', 'groupname', 'line', 'run_after', 'server', 'shell', 'username']);
    assert.match(parsed.errors.shell![0]!, /"bash" is not a valid choice\. Choose from: system/);
    assert.deepEqual(parsed.errors.line, ['This field may not be blank.']);
    assert.equal(parsed.errors.env!.length, 2);
  });

  it('requires a line and a server, and bounds the line and the env', () => {
    const missing = parseCommandRequest({});
    assert.ok('errors' in missing);
    assert.deepEqual(missing.errors, { line: ['This field is required.'], server: ['This field is required.'] });
    const long = parseCommandRequest({ line: 'x'.repeat(LINE_MAX + 1), server: SERVER, env: [] });
    assert.ok('errors' in long);
    assert.deepEqual(Object.keys(long.errors).sort(), ['env', 'line']);
  });

  it('takes a timeout in whole seconds up to the most allowed, and the default within it', () => {
    const given = parseCommandRequest({ line: 'sleep 5', server: SERVER, timeout: 3600 });
    assert.ok('spec' in given);
    assert.equal(given.spec.timeoutSeconds, 3600);
    for (const [timeout, message] of [[3601, 'Ensure this value is less than or equal to 3600.'], [0, 'Ensure this value is greater than or equal to 1.'], [1.5, 'A valid integer is required.'], ['60', 'A valid integer is required.']] as const) {
      assert.deepEqual(parseCommandRequest({ line: 'x', server: SERVER, timeout }), { errors: { timeout: [message] } });
    }
    const lowMaximum = parseWith({ line: 'x', server: SERVER }, { defaultSeconds: 600, maxSeconds: 60 });
    assert.ok('spec' in lowMaximum);
    assert.equal(lowMaximum.spec.timeoutSeconds, 60);
  });
});

describe('splitting output into chunks', () => {
  it('cuts at the size, never inside a character of two UTF-16 units', () => {
    assert.deepEqual(splitText('abcdefg', 3), ['abc', 'def', 'g']);
    const pieces = splitText('ab😀cd', 3);
    assert.deepEqual(pieces, ['ab', '😀c', 'd']);
    assert.equal(pieces.join(''), 'ab😀cd');
    assert.deepEqual(splitText('', 3), []);
  });
});
