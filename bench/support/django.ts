// The Django REST framework comparison (bench/drf): the same organizations list, token-
// authenticated and paginated from SQLite, served by gunicorn with two workers, as Alpacon's
// own API is. Its Python packages (pinned in bench/drf/requirements.txt, from PyPI) go into a
// virtual environment under bench/out/ the first time.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repositoryRoot, stop, waitForHttp } from './processes.ts';

const project = path.join(repositoryRoot, 'bench/drf');
const venv = path.join(repositoryRoot, 'bench/out/drf-venv');
const python = path.join(venv, 'bin/python');

export interface DjangoService {
  /** The list's URL, page of `pageSize`. */
  url: string;
  headers: Record<string, string>;
  child: ChildProcess;
  stop(): Promise<void>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd: project, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.error?.message ?? ''}${result.stderr}`);
  return result.stdout;
}

/** Makes the virtual environment when missing; a reason when it cannot (no Python, no PyPI). */
function environment(): string | undefined {
  if (fs.existsSync(path.join(venv, 'bin/gunicorn'))) return undefined;
  try {
    run('python3', ['-m', 'venv', venv]);
    run(path.join(venv, 'bin/pip'), ['install', '--quiet', '-r', 'requirements.txt']);
    return undefined;
  } catch (error) {
    fs.rmSync(venv, { recursive: true, force: true });
    return (error as Error).message.split('\n')[0];
  }
}

/**
 * Starts the Django service with `organizations` organizations, or says why it cannot. The
 * database is a fresh SQLite file; the token is DRF's `TokenAuthentication` one.
 */
export async function startDjango(organizations: number, pageSize: number): Promise<DjangoService | { skipped: string }> {
  const missing = environment();
  if (missing) return { skipped: `Django REST framework could not be installed: ${missing}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-drf-'));
  const env = { ...process.env, DRF_BENCH_SECRET_KEY: `bench-${process.pid}-${Date.now()}`, DRF_BENCH_DATABASE: path.join(dir, 'db.sqlite3') };
  run(python, ['manage.py', 'migrate', '--run-syncdb', '-v', '0'], env);
  const seed = `
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from orgs.models import Organization
user = User.objects.create_user("admin")
Organization.objects.bulk_create([Organization(name=f"Organization {i}") for i in range(${organizations})])
print(Token.objects.create(user=user).key)`;
  const token = run(python, ['manage.py', 'shell', '-v', '0', '-c', seed], env).trim();
  const port = await freePort();
  // gthread with one thread per worker: two requests at a time, as with sync workers, but connections are kept alive as the load generator's are everywhere else.
  const child = spawn(path.join(venv, 'bin/gunicorn'), ['--workers', '2', '--worker-class', 'gthread', '--threads', '1', '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', 'drfbench.wsgi'], { cwd: project, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}/api/iam/organizations/?page_size=${pageSize}`;
  await waitForHttp(url);
  return {
    url,
    headers: { authorization: `Token ${token}` },
    child,
    async stop() {
      await stop(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
