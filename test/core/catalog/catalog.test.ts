import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePriceList, pricedPackages } from '../../../src/core/catalog/catalog-service.ts';
import { formatAmount, minorDigits, parseAmount } from '../../../src/core/catalog/money.ts';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { ValidationFailed } from '../../../src/core/errors.ts';

describe('money', () => {
  it('knows how many minor digits a currency has, and refuses codes that are not currencies', () => {
    assert.equal(minorDigits('USD'), 2);
    assert.equal(minorDigits('JPY'), 0);
    assert.equal(minorDigits('BHD'), 3);
    for (const bad of ['usd', 'XYZ', 'DOLLARS', '']) assert.equal(minorDigits(bad), null, bad);
  });

  it("takes the minor units from ISO 4217, not from ICU's display conventions, and loads no number format", (t) => {
    // ICU shows these three without decimals; ISO 4217 gives them 2, 2 and 3.
    t.mock.method(Intl, 'NumberFormat', () => assert.fail('minorDigits asked ICU for a number format'));
    assert.equal(minorDigits('HUF'), 2);
    assert.equal(minorDigits('IDR'), 2);
    assert.equal(minorDigits('IQD'), 3);
    assert.equal(minorDigits('KRW'), 0);
  });

  it('parses decimal strings into exact minor units and writes them back', () => {
    assert.equal(parseAmount('12.5', 2), 1250);
    assert.equal(parseAmount('0.10', 2), 10);
    assert.equal(parseAmount('7', 2), 700);
    assert.equal(parseAmount('1000', 0), 1000);
    assert.equal(parseAmount('0.001', 3), 1);
    // 0.1 + 0.2 is not 0.30000000000000004 here.
    assert.equal(formatAmount(parseAmount('0.1', 2)! + parseAmount('0.2', 2)!, 2), '0.30');
    assert.equal(formatAmount(5, 2), '0.05');
    assert.equal(formatAmount(123456, 2), '1234.56');
    assert.equal(formatAmount(42, 0), '42');
    for (const bad of ['1.234', '-1', '1e3', 'abc', '', '1.', '.5', '0x10']) assert.equal(parseAmount(bad, 2), null, bad);
    assert.equal(parseAmount('1.5', 0), null);
  });
});

describe('packages and prices', () => {
  it('prices every container size, server plan and volume size, in the currency, as decimal strings', () => {
    const packages = pricedPackages({ currency: 'USD', prices: {} });
    assert.deepEqual(packages.map((p) => p.kind).filter((k, i, all) => all.indexOf(k) === i), ['container', 'server', 'volume']);
    const m = packages.find((p) => p.name === 'M')!;
    assert.deepEqual(m.price, { amount: '10.00', currency: 'USD', term: 'month' });
    assert.equal(m.memory_bytes, 512 * 1024 * 1024);
    assert.equal(new Set(packages.map((p) => p.id)).size, packages.length);
    assert.equal(new Set(packages.map((p) => p.name)).size, packages.length);
  });

  it('takes configured prices over the defaults, exactly', () => {
    const packages = pricedPackages({ currency: 'EUR', prices: { M: '7.5', '1GB': '0.10' } });
    assert.equal(packages.find((p) => p.name === 'M')!.price.amount, '7.50');
    assert.equal(packages.find((p) => p.name === '1GB')!.price.amount, '0.10');
    assert.equal(packages.find((p) => p.name === 'L')!.price.amount, '20.00');
    assert.equal(pricedPackages({ currency: 'JPY', prices: { M: '1200' } }).find((p) => p.name === 'M')!.price.amount, '1200');
  });

  it('refuses an unknown currency, an unknown package and an amount the currency cannot hold', () => {
    assert.throws(() => pricedPackages({ currency: 'XXY', prices: {} }), (e: ValidationFailed) => /ISO 4217/.test(e.fields.NIMBUS_CURRENCY![0]!));
    assert.throws(() => pricedPackages({ currency: 'USD', prices: { XXL: '3' } }), (e: ValidationFailed) => /"XXL" is not a package/.test(e.fields.NIMBUS_PRICES![0]!));
    assert.throws(() => pricedPackages({ currency: 'JPY', prices: { M: '10.5' } }), (e: ValidationFailed) => /at most 0 after the point/.test(e.fields.NIMBUS_PRICES![0]!));
    assert.throws(() => parsePriceList('M=1,L'), ValidationFailed);
    assert.deepEqual(parsePriceList(' M = 1.25 , 2XL=9 '), { M: '1.25', '2XL': '9' });
  });

  it('reads NIMBUS_CURRENCY, NIMBUS_PRICES and NIMBUS_REGION, and refuses bad ones at start-up', () => {
    assert.deepEqual(loadConfig({}, {}).catalog, { currency: 'USD', prices: {}, region: 'nimbus' });
    assert.deepEqual(loadConfig({}, { NIMBUS_CURRENCY: 'eur', NIMBUS_PRICES: 'M=7.50', NIMBUS_REGION: 'paris-1' }).catalog, { currency: 'EUR', prices: { M: '7.50' }, region: 'paris-1' });
    assert.throws(() => loadConfig({}, { NIMBUS_CURRENCY: 'EURO' }), ConfigError);
    assert.throws(() => loadConfig({}, { NIMBUS_PRICES: 'M=cheap' }), /NIMBUS_PRICES: M: "cheap" is not an amount/);
    assert.throws(() => loadConfig({}, { NIMBUS_PRICES: 'M' }), ConfigError);
    assert.throws(() => loadConfig({}, { NIMBUS_REGION: 'Not A Region' }), /NIMBUS_REGION/);
  });
});
