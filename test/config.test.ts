import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_IDENTITY_SETTINGS, loadConfig, type Config } from '../src/config.ts';

/** The foundation's settings (other parts add their own, tested where they are used). */
function foundation(config: Config) {
  const { host, port, dataDir, databaseUrl, logLevel, bodyLimit, adminPassword } = config;
  return { host, port, dataDir, databaseUrl, logLevel, bodyLimit, adminPassword };
}

describe('configuration', () => {
  it('defaults to 127.0.0.1:8080, ./data, SQLite and info logs', () => {
    assert.deepEqual(foundation(loadConfig({}, {})), {
      host: '127.0.0.1',
      port: 8080,
      dataDir: path.resolve('data'),
      databaseUrl: undefined,
      logLevel: 'info',
      bodyLimit: 1024 * 1024,
      adminPassword: undefined,
    });
    assert.deepEqual(loadConfig({}, {}).identity, DEFAULT_IDENTITY_SETTINGS);
  });

  it('reads the NIMBUS_ environment variables', () => {
    const config = foundation(loadConfig({}, {
      NIMBUS_HOST: '0.0.0.0',
      NIMBUS_PORT: '9090',
      NIMBUS_DATA_DIR: '/var/lib/nimbus',
      NIMBUS_DATABASE_URL: 'postgres://u@db/nimbus',
      NIMBUS_LOG_LEVEL: 'warn',
      NIMBUS_BODY_LIMIT: '2048',
      NIMBUS_ADMIN_PASSWORD: 'secret',
    }));
    assert.deepEqual(config, { host: '0.0.0.0', port: 9090, dataDir: '/var/lib/nimbus', databaseUrl: 'postgres://u@db/nimbus', logLevel: 'warn', bodyLimit: 2048, adminPassword: 'secret' });
  });

  it('believes no proxy unless told which: a hop count, or addresses and CIDRs', () => {
    assert.equal(loadConfig({}, {}).trustProxy, false);
    assert.equal(loadConfig({}, { NIMBUS_TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({}, { NIMBUS_TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({}, { NIMBUS_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
    assert.throws(() => loadConfig({}, { NIMBUS_TRUST_PROXY: 'true' }), (e: unknown) => e instanceof ConfigError && /name the proxies/.test(e.message));
    assert.throws(() => loadConfig({}, { NIMBUS_TRUST_PROXY: '10.0.0.1,lb.internal' }), (e: unknown) => e instanceof ConfigError && /"lb.internal" is not an address/.test(e.message));
  });

  it('reads the identity settings from the environment, flags winning', () => {
    const env = {
      NIMBUS_SESSION_TTL: '3600',
      NIMBUS_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      NIMBUS_LOGIN_MAX_FAILURES_PER_ADDRESS: '9',
      NIMBUS_LOGIN_THROTTLE_WINDOW: '60',
      NIMBUS_RATE_LIMIT: '0',
      NIMBUS_RATE_LIMIT_ANONYMOUS: '30',
      NIMBUS_RATE_LIMIT_WINDOW: '10',
      NIMBUS_JWT_KEY_ROTATION: '7200',
    };
    assert.deepEqual(loadConfig({ identity: { rateLimitPerAddress: 40 } }, env).identity, {
      sessionTtlSeconds: 3600,
      maxFailuresPerAccount: 3,
      maxFailuresPerAddress: 9,
      throttleWindowSeconds: 60,
      rateLimitPerCredential: 0,
      rateLimitPerAddress: 40,
      rateLimitWindowSeconds: 10,
      keyRotationSeconds: 7200,
    });
    assert.throws(() => loadConfig({}, { NIMBUS_RATE_LIMIT_WINDOW: '0' }), /NIMBUS_RATE_LIMIT_WINDOW must be at least 1 second/);
    assert.throws(() => loadConfig({}, { NIMBUS_RATE_LIMIT: 'lots' }), /NIMBUS_RATE_LIMIT must be a whole number/);
  });

  it('reads the limits on tenants, commands and open requests, and the secret key', () => {
    const defaults = loadConfig({}, {});
    assert.deepEqual(
      [defaults.workerSlotsPerTenant, defaults.commandTimeoutSeconds, defaults.commandTimeoutMaxSeconds, defaults.commandOutputLimit, defaults.streamsPerCredential, defaults.streamsPerProcess, defaults.secretKey],
      [8, 3600, 86400, 8 * 1024 * 1024, 20, 1000, undefined],
    );
    assert.equal(loadConfig({}, { NIMBUS_WORKER_CONCURRENCY: '5' }).workerSlotsPerTenant, 3, 'half the slots, rounded up');
    const given = loadConfig({}, {
      NIMBUS_WORKER_SLOTS_PER_TENANT: '2',
      NIMBUS_COMMAND_TIMEOUT: '60',
      NIMBUS_COMMAND_TIMEOUT_MAX: '120',
      NIMBUS_COMMAND_OUTPUT_LIMIT: '100000',
      NIMBUS_STREAMS_PER_CREDENTIAL: '3',
      NIMBUS_STREAMS_PER_PROCESS: '30',
      NIMBUS_SECRET_KEY: 'k'.repeat(40),
    });
    assert.deepEqual(
      [given.workerSlotsPerTenant, given.commandTimeoutSeconds, given.commandTimeoutMaxSeconds, given.commandOutputLimit, given.streamsPerCredential, given.streamsPerProcess, given.secretKey],
      [2, 60, 120, 100000, 3, 30, 'k'.repeat(40)],
    );
    assert.throws(() => loadConfig({}, { NIMBUS_COMMAND_TIMEOUT: '200', NIMBUS_COMMAND_TIMEOUT_MAX: '100' }), /NIMBUS_COMMAND_TIMEOUT must not be more than NIMBUS_COMMAND_TIMEOUT_MAX/);
    assert.throws(() => loadConfig({}, { NIMBUS_COMMAND_OUTPUT_LIMIT: '1000' }), /NIMBUS_COMMAND_OUTPUT_LIMIT must be at least 65536/);
    assert.throws(() => loadConfig({}, { NIMBUS_STREAMS_PER_CREDENTIAL: '0' }), /NIMBUS_STREAMS_PER_CREDENTIAL must be at least 1/);
    assert.throws(() => loadConfig({}, { NIMBUS_WORKER_SLOTS_PER_TENANT: '0' }), /NIMBUS_WORKER_SLOTS_PER_TENANT must be at least 1/);
    assert.throws(() => loadConfig({}, { NIMBUS_SECRET_KEY: 'short' }), /NIMBUS_SECRET_KEY must be at least 32 characters long/);
  });

  it('lets flags win over the environment, and treats empty variables as unset', () => {
    const config = loadConfig({ port: 7000, host: '::1', logLevel: 'debug' }, { NIMBUS_PORT: '9090', NIMBUS_HOST: '0.0.0.0', NIMBUS_LOG_LEVEL: 'warn', NIMBUS_DATA_DIR: '' });
    assert.deepEqual([config.port, config.host, config.logLevel, config.dataDir], [7000, '::1', 'debug', path.resolve('data')]);
    assert.equal(loadConfig({ port: 7000 }, { NIMBUS_PORT: 'not-a-port' }).port, 7000, 'a bad variable a flag overrides is not an error');
  });

  it('maps servers\' user namespaces onto 100000000 onwards unless NIMBUS_SERVER_ID_RANGE says otherwise', () => {
    assert.equal(loadConfig({}, {}).serverIdRange, '100000000-4294967294');
    assert.equal(loadConfig({}, { NIMBUS_SERVER_ID_RANGE: '200000000-300000000' }).serverIdRange, '200000000-300000000');
  });

  it('keeps 10 000 lines of logs per app unless NIMBUS_APP_LOG_LINES says otherwise', () => {
    assert.equal(loadConfig({}, {}).appLogLines, 10_000);
    assert.equal(loadConfig({}, { NIMBUS_APP_LOG_LINES: '250' }).appLogLines, 250);
  });

  it('refuses bad values with a message naming the setting', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ NIMBUS_PORT: 'eighty' }, /NIMBUS_PORT must be a whole number, got "eighty"/],
      [{ NIMBUS_PORT: '70000' }, /port must be an integer between 0 and 65535, got 70000/],
      [{ NIMBUS_LOG_LEVEL: 'loud' }, /log level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
      [{ NIMBUS_DATABASE_URL: 'mysql://x' }, /NIMBUS_DATABASE_URL must start with postgres:\/\//],
      [{ NIMBUS_BODY_LIMIT: '1k' }, /NIMBUS_BODY_LIMIT must be a whole number/],
      [{ NIMBUS_SERVER_ID_RANGE: '0-65535' }, /NIMBUS_SERVER_ID_RANGE: "0-65535" must be first-last host ids/],
      [{ NIMBUS_APP_LOG_LINES: '99' }, /NIMBUS_APP_LOG_LINES must be a whole number of lines from 100 to 1000000, got 99/],
      [{ NIMBUS_APP_LOG_LINES: '1000001' }, /NIMBUS_APP_LOG_LINES must be a whole number of lines from 100 to 1000000/],
      [{ NIMBUS_APP_LOG_LINES: 'lots' }, /NIMBUS_APP_LOG_LINES must be a whole number/],
    ];
    for (const [env, message] of cases) assert.throws(() => loadConfig({}, env), (error: unknown) => error instanceof ConfigError && message.test(error.message), JSON.stringify(env));
  });
});

describe('DNS configuration', () => {
  it('serves DNS on 127.0.0.1:8053 by default, and reads its NIMBUS_DNS_ variables', () => {
    const dns = ({ dnsAddress, dnsPort, dnsNameservers, dnsSecondaries, dnsUdpSize }: Config) => ({ dnsAddress, dnsPort, dnsNameservers, dnsSecondaries, dnsUdpSize });
    assert.deepEqual(dns(loadConfig({}, {})), { dnsAddress: '127.0.0.1', dnsPort: 8053, dnsNameservers: ['localhost'], dnsSecondaries: [], dnsUdpSize: 1232 });
    const env = { NIMBUS_DNS_ADDRESS: '::1', NIMBUS_DNS_PORT: '0', NIMBUS_DNS_NAMESERVERS: 'NS1.example.net., ns2.example.net', NIMBUS_DNS_SECONDARIES: '192.0.2.1,[2001:db8::1]:5353', NIMBUS_DNS_EDNS_UDP_SIZE: '1400' };
    assert.deepEqual(dns(loadConfig({}, env)), { dnsAddress: '::1', dnsPort: 0, dnsNameservers: ['ns1.example.net', 'ns2.example.net'], dnsSecondaries: ['192.0.2.1', '[2001:db8::1]:5353'], dnsUdpSize: 1400 });
    assert.throws(() => loadConfig({}, { NIMBUS_DNS_NAMESERVERS: 'ns_1.example.net' }), /NIMBUS_DNS_NAMESERVERS: "ns_1.example.net"/);
    assert.throws(() => loadConfig({}, { NIMBUS_DNS_SECONDARIES: 'secondary.example' }), /NIMBUS_DNS_SECONDARIES/);
    assert.throws(() => loadConfig({}, { NIMBUS_DNS_EDNS_UDP_SIZE: '100' }), /512 to 4096/);
    assert.throws(() => loadConfig({}, { NIMBUS_DNS_PORT: '70000' }), /NIMBUS_DNS_PORT/);
  });
});
