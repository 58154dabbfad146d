import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { generateAccountToken, generatePersonalToken, generateToken, hashToken, looksLikeAccountToken, looksLikeToken, parseToken, personalPrefixOf, renewedExpiry, SLIDING_RENEWAL_INTERVAL_MS, tokenDisplayParts, TOKEN_KINDS } from '../../../src/core/tokens/token-format.ts';

describe('token format', () => {
  it('is a kind prefix, 30 random base62 characters and a 6-character CRC32 checksum', () => {
    for (const kind of Object.keys(TOKEN_KINDS) as (keyof typeof TOKEN_KINDS)[]) {
      const token = generateToken(kind);
      assert.match(token, new RegExp(`^${TOKEN_KINDS[kind]}_[0-9A-Za-z]{36}$`));
      assert.equal(parseToken(token), kind);
      assert.ok(looksLikeToken(token));
    }
  });

  it('checks the checksum: the last six characters are the base62 CRC32 of the rest', () => {
    const token = generateToken('personal');
    const body = token.slice(0, -6);
    let value = crc32(body);
    let expected = '';
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < 6; i++, value = Math.floor(value / 62)) expected = alphabet[value % 62] + expected;
    assert.equal(token.slice(-6), expected);
  });

  it('rejects every single-character typo, a wrong prefix and garbage', () => {
    const token = generateToken('personal');
    for (let i = 6; i < token.length; i++) {
      const typo = token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
      assert.equal(parseToken(typo), null, `typo at ${i}`);
    }
    assert.equal(parseToken(`nbxxx${token.slice(5)}`), null);
    for (const garbage of ['', 'nbpat_', 'token', `${token}x`, token.slice(0, -1), `nbpat_${'0'.repeat(36)}`]) assert.equal(parseToken(garbage), null);
  });

  it('is random: no two tokens alike', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateToken('personal')));
    assert.equal(tokens.size, 1000);
  });

  it('hashes with SHA-256 and shows only a prefix and the last four characters', () => {
    const token = generateToken('personal');
    assert.match(hashToken(token), /^[0-9a-f]{64}$/);
    assert.notEqual(hashToken(token), hashToken(generateToken('personal')));
    assert.deepEqual(tokenDisplayParts(token), { displayPrefix: token.slice(0, 10), lastFour: token.slice(-4) });
  });

  it("gives personal tokens a platform's prefix on request, with the same checksum rules", () => {
    const token = generatePersonalToken('tk-us-');
    assert.match(token, /^tk-us-[0-9A-Za-z]{36}$/);
    assert.equal(parseToken(token), 'personal');
    const { displayPrefix } = tokenDisplayParts(token);
    assert.equal(displayPrefix, token.slice(0, 10));
    assert.equal(personalPrefixOf(displayPrefix), 'tk-us-');
    assert.equal(personalPrefixOf(tokenDisplayParts(generateToken('personal')).displayPrefix), null);
    const typo = `${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`;
    assert.equal(parseToken(typo), null);
    assert.equal(parseToken(`tk-eu-${token.slice(6)}`), null);
  });
});

describe('account tokens and sliding expiry', () => {
  it('are version 4 UUIDs, told apart from every prefixed kind', () => {
    const token = generateAccountToken();
    assert.ok(looksLikeAccountToken(token));
    assert.equal(parseToken(token), null);
    assert.ok(!looksLikeAccountToken(generateToken('personal')));
    assert.ok(!looksLikeAccountToken('00000000-0000-0000-0000-000000000000'));
  });

  it('slides the expiry to the idle period after a use, writing at most once per renewal interval', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const idle = 1800;
    // Just renewed: nothing to write.
    assert.equal(renewedExpiry(now + idle * 1000, idle, now), null);
    assert.equal(renewedExpiry(now + idle * 1000 - SLIDING_RENEWAL_INTERVAL_MS + 1, idle, now), null);
    // A renewal interval (or more) has passed since: the expiry moves to a full period ahead.
    assert.equal(renewedExpiry(now + idle * 1000 - SLIDING_RENEWAL_INTERVAL_MS, idle, now), now + idle * 1000);
    assert.equal(renewedExpiry(now + 1000, idle, now), now + idle * 1000);
  });
});
