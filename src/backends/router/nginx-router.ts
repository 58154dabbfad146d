import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { createAccessLogReader } from './access-log.ts';
import { ACCESS_LOG, nginxConfig } from './nginx-config.ts';
import type { RouteSet } from './routes.ts';

export interface AppsRouterOptions {
  /** The address the listeners listen on. */
  host: string;
  httpPort: number;
  /** 0: no HTTPS listener. */
  httpsPort: number;
  /** The current routes; asked again every `refreshMs`, and nginx reloaded when they change. */
  routes(): Promise<RouteSet>;
  refreshMs: number;
  /** Access lines of an app, for its logs. */
  access(appId: string, lines: { line: string; at: string }[]): void;
  /** How long a stop lets requests and upgraded connections in flight finish. */
  drainMs: number;
  /** nginx's own directory (configuration, certificates, access log, temporary files), this router's alone. */
  directory: string;
  /** Past this size the access log is renamed and nginx opens a new one (64 MiB unless given). */
  accessRotateBytes?: number;
  logger: Logger;
}

/** The access log is read this often, and nginx flushes its buffer as often. */
const ACCESS_READ_MS = 100;
const ACCESS_ROTATE_BYTES = 64 * 1024 ** 2;
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 5_000;
/** An nginx that served this long before it ended starts its restarts from the first delay again. */
const STABLE_MS = 30_000;
/** Beyond the drain, how long a stopping nginx has to end by itself before it is killed. */
const STOP_MARGIN_MS = 2_000;
const READY_POLL_MS = 20;

const runs = (command: string, ...args: string[]) => !spawnSync(command, args).error;

/** How nginx is started: the command, and whether it needs a session of its own to get a process group of its own. */
type NginxLaunch = { command: string[]; ownSession: boolean };

/** Makes its process the leader of a process group of its own, then runs its arguments. */
const OWN_GROUP = ['perl', '-e', 'setpgrp(0, 0); exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!\\n"', '--'];

/**
 * How to run nginx: on the PATH, or where Debian's package puts it (not on every user's PATH);
 * through `setpriv` (util-linux) when there is one, which gives nginx a signal for when this
 * process dies, so that no nginx outlives Nimbus. nginx runs in a process group of its own (its
 * workers outlive a master that is killed, and are ended with the group; a terminal's ^C reaches
 * nimbus serve alone), made by Perl (essential in Debian), in this process's session. A session
 * of its own (what Node's `detached` makes, the fallback without Perl) would be an autogroup of
 * its own to Linux's scheduler, which shares the CPU between autogroups before their processes:
 * where the load comes from the same session (a terminal, the benchmark's load generator), nginx
 * then spent a fifth more CPU a request and served a quarter fewer (bench/README.md, apps).
 * Undefined without nginx.
 */
function nginxLaunch(): NginxLaunch | undefined {
  const binary = ['nginx', '/usr/sbin/nginx'].find((candidate) => runs(candidate, '-v'));
  if (!binary) return undefined;
  const deathSignal = runs('setpriv', '--version') ? ['setpriv', '--pdeathsig', 'SIGTERM', '--'] : [];
  const withPerl = runs('perl', '-e', '1');
  return { command: [...deathSignal, ...(withPerl ? OWN_GROUP : []), binary], ownSession: !withPerl };
}

/** Ends a process group, ignoring one already gone. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}

/**
 * The apps router: nginx, driven by this process. Every `refreshMs` the routes are read; when
 * they changed, nginx's configuration (nginx-config.ts) and the certificates it names are
 * written and nginx reloads them (a running request keeps the configuration it started with).
 * Its access log is read every moment into the apps' logs. nginx gets a signal when this
 * process dies, runs in a process group of its own, and is started again (after 0.1 s,
 * doubling up to 5 s while it keeps failing) when it ends unexpectedly; `stop` lets it drain.
 */
export function createAppsRouter(options: AppsRouterOptions) {
  const { logger, directory } = options;
  const certificatesDir = path.join(directory, 'certs');
  const configFile = path.join(directory, 'nginx.conf');
  const pidFile = path.join(directory, 'nginx.pid');
  let nginx: ChildProcess | undefined;
  let current: RouteSet = { hosts: new Map(), certificates: new Map() };
  /** The routes' signature nginx was last configured with. */
  let configured = '';
  let stopped = false;
  let refreshTimer: NodeJS.Timeout | undefined;
  let accessTimer: NodeJS.Timeout | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> = Promise.resolve();
  let restartDelay = RESTART_FIRST_MS;
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const accessLog = createAccessLogReader({ file: path.join(directory, ACCESS_LOG), rotateBytes: options.accessRotateBytes ?? ACCESS_ROTATE_BYTES, reopen: () => nginx?.kill('SIGUSR1') });

  /** The pid nginx wrote, if it wrote one. */
  const writtenPid = (): number | undefined => {
    try {
      return Number(fs.readFileSync(pidFile, 'utf8').trim());
    } catch {
      return undefined;
    }
  };

  const signature = (set: RouteSet) => JSON.stringify([[...set.hosts], [...set.certificates].map(([host, c]) => [host, c.version])]);

  /**
   * Writes each certificate (and key, readable by this user alone) once per version; one that
   * does not load is reported and left out. Removes the files of certificates no longer routed.
   */
  function writeCertificates(set: RouteSet): Map<string, { cert: string; key: string }> {
    const files = new Map<string, { cert: string; key: string }>();
    const kept = new Set<string>();
    for (const [host, certificate] of set.certificates) {
      const name = createHash('sha256').update(`${host}\0${certificate.version}`).digest('hex').slice(0, 32);
      const cert = path.join('certs', `${name}.pem`);
      const key = path.join('certs', `${name}.key`);
      if (!fs.existsSync(path.join(directory, key))) {
        try {
          const pem = certificate.key();
          tls.createSecureContext({ cert: certificate.cert, key: pem });
          fs.writeFileSync(path.join(directory, cert), certificate.cert, { mode: 0o600 });
          fs.writeFileSync(path.join(directory, key), pem, { mode: 0o600 });
        } catch (error) {
          logger.warn({ err: error }, `the apps router cannot use the certificate of ${host}`);
          continue;
        }
      }
      files.set(host, { cert, key });
      kept.add(`${name}.pem`).add(`${name}.key`);
    }
    for (const file of fs.readdirSync(certificatesDir)) if (!kept.has(file)) fs.rmSync(path.join(certificatesDir, file), { force: true });
    return files;
  }

  /** Writes nginx's configuration for `set` (whole, then renamed into place). */
  function configure(set: RouteSet): void {
    const { text, skipped } = nginxConfig({
      host: options.host,
      httpPort: options.httpPort,
      httpsPort: options.httpsPort,
      drainSeconds: options.drainMs / 1000,
      hosts: set.hosts,
      certificates: writeCertificates(set),
    });
    if (skipped.length) logger.warn(`the apps router left out what is no host name or address: ${skipped.join(', ')}`);
    fs.writeFileSync(`${configFile}.new`, text);
    fs.renameSync(`${configFile}.new`, configFile);
    configured = signature(set);
  }

  async function refresh(): Promise<void> {
    try {
      current = await options.routes();
    } catch (error) {
      logger.warn({ err: error }, 'the router could not read its routes');
      return;
    }
    if (signature(current) === configured) return;
    try {
      configure(current);
    } catch (error) {
      logger.error({ err: error }, 'the apps router could not write its configuration');
      return;
    }
    nginx?.kill('SIGHUP');
  }

  function deliverAccessLines(): void {
    let lines;
    try {
      lines = accessLog.read();
    } catch (error) {
      logger.warn({ err: error }, 'the apps router could not read its access log');
      return;
    }
    const byApp = new Map<string, { line: string; at: string }[]>();
    for (const { appId, line, at } of lines) {
      let group = byApp.get(appId);
      if (!group) byApp.set(appId, (group = []));
      group.push({ line, at });
    }
    for (const [appId, group] of byApp) options.access(appId, group);
  }

  /** An nginx of an earlier run of this process (killed before it could stop it) still holding the ports: ended. */
  function endLeftover(): void {
    const pid = writtenPid();
    if (pid === undefined) return;
    try {
      if (pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(directory)) killGroup(pid, 'SIGKILL');
    } catch {
      // Not running.
    }
    fs.rmSync(pidFile, { force: true });
  }

  /** Starts nginx again after the current delay, which doubles each time (up to 5 s). */
  function launchLater(how: NginxLaunch): void {
    restartTimer = setTimeout(() => {
      if (!stopped) void launch(how);
    }, restartDelay);
    restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
  }

  /** Starts nginx with the current routes; resolves once it listens (its pid file is written after it bound its ports) or it ended. */
  function launch(how: NginxLaunch): Promise<void> {
    deliverAccessLines();
    try {
      accessLog.reset();
      endLeftover();
      configure(current);
    } catch (error) {
      // Its directory cannot be written: tried again as a crash of nginx would be.
      logger.error({ err: error }, `the apps router could not write its configuration; trying again in ${restartDelay} ms`);
      launchLater(how);
      return Promise.resolve();
    }
    const [program, ...programArgs] = how.command;
    // What nginx creates (its access log: the apps' clients and requests) is readable by its own user alone.
    const umask = process.umask(0o077);
    let child: ChildProcess;
    try {
      child = spawn(program!, [...programArgs, '-p', `${directory}/`, '-c', 'nginx.conf', '-e', 'stderr'], { detached: how.ownSession, stdio: ['ignore', 'ignore', 'pipe'] });
    } finally {
      process.umask(umask);
    }
    nginx = child;
    const launchedAt = Date.now();
    let listening = false;
    readline.createInterface({ input: child.stderr! }).on('line', (line) => logger.warn(`the apps router: ${line.replace(/^nginx: /, '')}`));
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        if (writtenPid() !== child.pid) return;
        clearInterval(poll);
        listening = true;
        logger.info({ port: options.httpPort, tlsPort: options.httpsPort || undefined }, 'apps router listening (nginx)');
        resolve();
      }, READY_POLL_MS);
      child.once('error', (error) => logger.error({ err: error }, 'the apps router (nginx) could not be run'));
      child.once('exit', (code, signal) => {
        clearInterval(poll);
        resolve();
        // Its workers, were they left behind by a master that was killed.
        killGroup(child.pid, 'SIGKILL');
        if (nginx === child) nginx = undefined;
        if (stopped) return;
        if (Date.now() - launchedAt >= STABLE_MS) restartDelay = RESTART_FIRST_MS;
        const why = listening ? 'ended unexpectedly' : 'could not start (set NIMBUS_ROUTER_PORT and NIMBUS_ROUTER_TLS_PORT to free ports, or 0 to run none)';
        logger.error(`the apps router (nginx) ${why} (exit code ${code}, signal ${signal}); starting it again in ${restartDelay} ms`);
        launchLater(how);
      });
    });
  }

  return {
    /** The ports it listens on (the HTTPS one is undefined when there is none). */
    ports: { http: options.httpPort, https: options.httpsPort || undefined },
    /** Resolves once `start` has started nginx and it listens (or could not). */
    ready,
    /** nginx's master process while one runs (to watch it, or to end it as a crash would). */
    get process(): ChildProcess | undefined {
      return nginx;
    },
    /** Reads the routes, starts nginx, then reads the routes and its access log every moment. */
    async start(): Promise<void> {
      const how = nginxLaunch();
      if (!how) {
        logger.error('the apps router needs nginx (apt-get install nginx-light), which is not installed: no app is served (NIMBUS_ROUTER_PORT=0 runs no router)');
        started();
        return;
      }
      fs.mkdirSync(certificatesDir, { recursive: true, mode: 0o700 });
      // nginx's workers run as an unprivileged user when it starts as root: they may pass through, not read.
      fs.chmodSync(directory, 0o711);
      fs.mkdirSync(path.join(directory, 'temp'), { recursive: true });
      try {
        current = await options.routes();
      } catch (error) {
        logger.warn({ err: error }, 'the router could not read its routes');
      }
      if (stopped) return;
      await launch(how);
      started();
      const again = () => {
        if (stopped) return;
        refreshTimer = setTimeout(() => {
          refreshing = refresh().finally(again);
        }, options.refreshMs);
      };
      again();
      accessTimer = setInterval(deliverAccessLines, ACCESS_READ_MS);
    },
    /** Stops reading routes and restarting, then lets nginx drain; resolves once it has ended (nothing is left listening) and its last access lines are delivered. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(refreshTimer);
      clearTimeout(restartTimer);
      clearInterval(accessTimer);
      await refreshing;
      const child = nginx;
      if (child && child.exitCode === null && child.signalCode === null) {
        const ended = new Promise((resolve) => child.once('exit', resolve));
        // QUIT: stop accepting, finish what is in flight (worker_shutdown_timeout: the drain), then end.
        child.kill('SIGQUIT');
        const late = setTimeout(() => killGroup(child.pid, 'SIGKILL'), options.drainMs + STOP_MARGIN_MS);
        await ended;
        clearTimeout(late);
      }
      deliverAccessLines();
      accessLog.reset();
      // Nothing is left behind, and no certificate key (kept sealed in the database) in clear.
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

export type AppsRouter = ReturnType<typeof createAppsRouter>;
