import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCertificate, checkDomainName } from '../../../src/core/apps/domain-rules.ts';
import type { FieldErrors } from '../../../src/core/errors.ts';
import { opensslSkipReason, selfSigned } from '../../support/certificates.ts';

const nameErrors = (name: unknown) => {
  const errors: FieldErrors = {};
  checkDomainName(errors, 'name', name, 'apps.example.net');
  return errors.name;
};

describe('custom domain names', () => {
  it('accepts host names of two labels or more, in any case, with a trailing dot', () => {
    for (const name of ['example.com', 'www.shop.example.com', 'WWW.Example.COM', 'example.com.', 'xn--bcher-kva.example', 'a-b.c0.io']) assert.equal(nameErrors(name), undefined, name);
  });

  it('refuses addresses, single labels, bad labels and names under the apps domain', () => {
    for (const name of ['localhost', '10.0.0.1', 'exa_mple.com', '-bad.example.com', 'bad-.example.com', 'a..b.com', '*.example.com', `${'a'.repeat(64)}.com`, `${'a.'.repeat(127)}com`, 'white space.com']) {
      assert.ok(nameErrors(name), name);
    }
    assert.match(nameErrors('shop.apps.example.net')![0]!, /apps' own/);
    assert.match(nameErrors('apps.example.net')![0]!, /apps' own/);
    assert.deepEqual(nameErrors(''), ['This field is required.']);
    assert.deepEqual(nameErrors(7), ['This field is required.']);
  });
});

describe('custom domain certificates', { skip: opensslSkipReason ?? false }, () => {
  const shop = selfSigned(['shop.example.com', 'www.shop.example.com']);
  const other = selfSigned(['other.example.com']);
  const check = (cert: unknown, key: unknown, name = 'shop.example.com', now?: Date) => {
    const errors: FieldErrors = {};
    const checked = checkCertificate(errors, { cert, key }, name, now);
    return { errors, checked };
  };

  it('accepts a certificate that covers the name, with its key, and keeps the key as PKCS #8', () => {
    for (const name of ['shop.example.com', 'www.shop.example.com']) {
      const { errors, checked } = check(shop.cert, shop.key, name);
      assert.deepEqual(errors, {}, name);
      assert.match(checked!.cert, /^-----BEGIN CERTIFICATE-----/);
      assert.match(checked!.key, /^-----BEGIN PRIVATE KEY-----/);
      assert.ok(new Date(checked!.expiresAt) > new Date());
    }
  });

  it('refuses a key of another certificate, a name it does not cover, an expired one, and what is not PEM', () => {
    assert.deepEqual(check(shop.cert, other.key).errors, { tls_key: ['This key does not match the certificate.'] });
    assert.deepEqual(check(shop.cert, shop.key, 'example.com').errors, { tls_cert: ['The certificate does not cover example.com.'] });
    assert.match(check(shop.cert, shop.key, 'shop.example.com', new Date(Date.now() + 3 * 86_400_000)).errors.tls_cert![0]!, /expired/);
    assert.deepEqual(Object.keys(check('not a certificate', shop.key).errors), ['tls_cert']);
    assert.deepEqual(Object.keys(check(shop.cert.replace(/[A-Za-z]{8}/, 'AAAAAAAA'), shop.key).errors), ['tls_cert']);
    assert.deepEqual(Object.keys(check(shop.cert, 'not a key').errors), ['tls_key']);
    assert.deepEqual(Object.keys(check(shop.cert, undefined).errors), ['tls_key']);
    assert.deepEqual(Object.keys(check(42, shop.key).errors), ['tls_cert']);
  });

  it('never puts the key in a message', () => {
    const { errors } = check(other.cert, shop.key);
    assert.ok(!JSON.stringify(errors).includes(shop.key.split('\n')[1]!));
  });
});
