import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstFreeAddress, firstFreeSubnet, ipToNumber, numberToIp, parseRange, subnetAt, subnetCount } from '../../../src/core/compute/addresses.ts';
import { ValidationFailed } from '../../../src/core/errors.ts';

describe('address allocation', () => {
  it('reads ranges and refuses unusable ones', () => {
    assert.deepEqual(parseRange('10.77.0.0/16'), { base: ipToNumber('10.77.0.0'), prefix: 16 });
    for (const bad of ['10.77.0.0', '10.77.0.1/16', '10.77.0.0/25', '300.0.0.0/16', '10.0.0.0/4', 'x/16']) {
      assert.throws(() => parseRange(bad), ValidationFailed, bad);
    }
  });

  it('carves /24s with their gateway, and knows how many there are', () => {
    const range = parseRange('10.77.0.0/16');
    assert.equal(subnetCount(range), 256);
    assert.deepEqual(subnetAt(range, 0), { subnet: '10.77.0.0/24', gateway: '10.77.0.1' });
    assert.deepEqual(subnetAt(range, 255), { subnet: '10.77.255.0/24', gateway: '10.77.255.1' });
    assert.throws(() => subnetAt(range, 256), RangeError);
    assert.equal(subnetCount(parseRange('192.168.4.0/24')), 1);
  });

  it('picks the first free subnet and none when the range is full', () => {
    const range = parseRange('10.1.0.0/23');
    assert.equal(firstFreeSubnet(range, new Set())?.subnet, '10.1.0.0/24');
    assert.equal(firstFreeSubnet(range, new Set(['10.1.0.0/24']))?.subnet, '10.1.1.0/24');
    assert.equal(firstFreeSubnet(range, new Set(['10.1.0.0/24', '10.1.1.0/24'])), null);
  });

  it('hands out .2 to .254, never the gateway, the network or broadcast, nor a taken one', () => {
    assert.equal(firstFreeAddress('10.77.3.0/24', new Set()), '10.77.3.2');
    assert.equal(firstFreeAddress('10.77.3.0/24', new Set(['10.77.3.2', '10.77.3.4'])), '10.77.3.3');
    const all = new Set(Array.from({ length: 253 }, (_, i) => `10.77.3.${i + 2}`));
    assert.equal(firstFreeAddress('10.77.3.0/24', all), null);
    assert.equal(numberToIp(ipToNumber('255.254.1.0')!), '255.254.1.0');
  });
});
