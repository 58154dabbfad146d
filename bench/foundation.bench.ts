// Foundation benchmark: the organizations list (a page of 20, token-authenticated, through
// every convention and the SQLite store) against a bare Fastify route on the same machine.
// Target: Nimbus answers at least half the bare route's requests per second. Then the same list
// served by Django REST framework behind gunicorn (Alpacon's own stack; bench/support/django.ts),
// target: Nimbus at 15 times its rate or more.
import { startDjango } from './support/django.ts';
import { percent, reportGoal } from './support/goals.ts';
import { alternatedRounds } from './support/load.ts';
import { rssMiB, settledRssMiB, startBareServer, startNimbus, stop } from './support/processes.ts';

const ORGANIZATIONS = 40;
const TARGET_RATIO = 0.5;
const TARGET_IDLE_RSS_MIB = 80;
const TARGET_VS_DJANGO = 15;
/** Rounds of each comparison (`BENCH_ROUNDS`), alternated. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const nimbus = await startNimbus();
const bare = await startBareServer();
try {
  const auth = { authorization: `token="${nimbus.token}"` };
  for (let i = 0; i < ORGANIZATIONS; i++) {
    const created = await fetch(`${nimbus.baseUrl}/api/iam/organizations/`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `Organization ${i}` }),
    });
    if (created.status !== 201) throw new Error(`creating an organization answered ${created.status}: ${await created.text()}`);
  }
  // RSS after start-up and the writes above, before any load: a second after them, and idle.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const busyRss = rssMiB(nimbus.child.pid!);
  const idle = await settledRssMiB(nimbus.child.pid!);

  const listUrl = `${nimbus.baseUrl}/api/iam/organizations/?page_size=20`;
  const page = await (await fetch(listUrl, { headers: auth })).json();
  if (page.results?.length !== 20) throw new Error(`expected a page of 20, got ${JSON.stringify(page).slice(0, 200)}`);

  const { medians, runs } = await alternatedRounds(
    { nimbus: { url: listUrl, headers: auth, cpuOf: nimbus.child.pid! }, bare: { url: `${bare.url}/bare/`, cpuOf: bare.child.pid! } },
    ROUNDS,
  );
  const [nimbusFigures, bareFigures] = [medians.nimbus, medians.bare];
  const ratio = nimbusFigures.requestsPerSecond / bareFigures.requestsPerSecond;

  const row = (name: string, f: typeof nimbusFigures) =>
    `  ${name.padEnd(46)} ${String(f.requestsPerSecond).padStart(8)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   errors ${f.errors + f.non2xx}${f.cpuUsPerRequest === undefined ? '' : `   CPU ${f.cpuUsPerRequest} us a request`}`;
  console.log(`foundation (SQLite), ${ROUNDS} alternated rounds (the median round of each)`);
  console.log(row('GET /api/iam/organizations/?page_size=20', nimbusFigures));
  console.log(row('bare Fastify route (same-size JSON)', bareFigures));
  console.log(`  rounds (req/s): Nimbus ${runs.nimbus.map((f) => f.requestsPerSecond).join(', ')}; bare ${runs.bare.map((f) => f.requestsPerSecond).join(', ')}`);
  reportGoal({ bench: 'foundation', figure: 'organizations list vs a bare Fastify route', measured: `${nimbusFigures.requestsPerSecond} vs ${bareFigures.requestsPerSecond} req/s: ${percent(ratio)}`, goal: `≥ ${percent(TARGET_RATIO)}`, met: ratio >= TARGET_RATIO });
  reportGoal({ bench: 'foundation', figure: 'idle RSS of nimbus serve', measured: `${idle.mib} MiB (after ${idle.seconds} s idle; ${busyRss} MiB a second after its last request)`, goal: `≤ ${TARGET_IDLE_RSS_MIB} MiB`, met: idle.mib <= TARGET_IDLE_RSS_MIB });
  if ([...runs.nimbus, ...runs.bare].some((f) => f.errors + f.non2xx > 0)) process.exitCode = 1;

  // The default organization and the ones made above, as in Nimbus's list.
  const django = await startDjango(ORGANIZATIONS + 1, 20);
  if ('skipped' in django) console.log(`  Django REST framework: not measured (${django.skipped})`);
  else {
    try {
      const djangoPage = await (await fetch(django.url, { headers: django.headers })).json();
      if (djangoPage.results?.length !== 20 || djangoPage.count !== page.count) throw new Error(`Django answered ${JSON.stringify(djangoPage).slice(0, 200)}`);
      // Alternated with Nimbus again, so that both meet the same machine.
      const versus = await alternatedRounds({ nimbus: { url: listUrl, headers: auth }, django: { url: django.url, headers: django.headers } }, ROUNDS);
      const [again, djangoFigures] = [versus.medians.nimbus, versus.medians.django];
      console.log(row('the same list, Nimbus again', again));
      console.log(row('Django REST framework (gunicorn, 2 workers)', djangoFigures));
      const times = again.requestsPerSecond / djangoFigures.requestsPerSecond;
      reportGoal({ bench: 'foundation', figure: 'organizations list vs Django REST framework', measured: `${again.requestsPerSecond} vs ${djangoFigures.requestsPerSecond} req/s: ${times.toFixed(1)}x`, goal: `≥ ${TARGET_VS_DJANGO}x`, met: times >= TARGET_VS_DJANGO });
      if ([...versus.runs.nimbus, ...versus.runs.django].some((f) => f.errors + f.non2xx > 0)) process.exitCode = 1;
    } finally {
      await django.stop();
    }
  }
} finally {
  await nimbus.stop();
  await stop(bare.child);
}
