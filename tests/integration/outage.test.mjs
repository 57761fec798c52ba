// The database stopped and started under load (CYBERID_TEST_DB=postgresql
// or citus): a loop of complete logins and enrollments runs while the
// test stops every database server, first cleanly (pg_ctl -m fast) and
// then at once (-m immediate, a crash), and starts them again. Throughout:
// no 500 and no crash; while the database is down, 503 JSON with
// Retry-After, and no request waits past the statement timeout (5 s) plus
// its margin; afterwards logins succeed again without restarting cyberid;
// every enrollment the service acknowledged (201) is in the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { initDataDir, startServer, sql, sqlText, backend, pgCluster, pgClusterControl } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, appEnroll, show } from './lib/citizen.mjs';
import { addPlatform, loginChecks, shownUserCode, pageLoginId, pollOnce, appLogin, basicAuth } from './lib/oidc.mjs';

const skip = backend === 'sqlite' && 'stops a PostgreSQL server (CYBERID_TEST_DB=postgresql|citus)';
const SCOPE = 'openid realname_verified';
const REQUEST_LIMIT_MS = 5000 + 2000 + 1500; // statement timeout, client margin, slack
const people = Array.from({ length: 24 }, (_, i) => {
  const birth = `1990-01-${String(1 + i).padStart(2, '0')}`;
  return { id: nationalId('110105', birth, String(101 + 2 * i)), name: `停机${i}`, birth, photo: 'img62.jpg' };
});

let temp, server, platform, photos, loginWallet;

before(async () => {
  if (skip) return;
  temp = await initDataDir('outage');
  await importRegistry(temp, people);
  platform = await addPlatform(temp.data, temp.dir, {
    name: 'Outage Shop', redirectUris: ['http://127.0.0.1:8601/cb'], claims: 'realname_verified',
  });
  photos = await preparePhotos(temp.dir);
  // The load loops run from one address, faster than a subscriber would.
  server = await startServer(temp.data, ['--janitor-interval', '1', '--authorize-per-address', '0']);
  loginWallet = path.join(temp.dir, 'login.json');
  const enrolled = await appEnroll(server.url, loginWallet, people[0], photos);
  assert.equal(enrolled.code, 0, enrolled.stderr);
});

after(async () => {
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, `cyberid serve exits 0 on SIGTERM:\n${server.logs.slice(-20).join('\n')}`);
  }
  if (temp) await temp.cleanup();
});

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** fetch with a hard limit, so that a hung request fails the test. */
async function timedFetch(url, options, record) {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3 * REQUEST_LIMIT_MS);
  try {
    const response = await fetch(url, { ...options, signal: controller.signal, redirect: 'manual' });
    const text = await response.text();
    const answer = { at: started, ms: Date.now() - started, status: response.status, text,
      retryAfter: response.headers.get('retry-after'), type: response.headers.get('content-type') ?? '' };
    record.push(answer);
    return answer;
  } finally {
    clearTimeout(timer);
  }
}

/** One complete login, step by step; 'ok' or the first step that failed. */
async function oneLogin(record) {
  const checks = await loginChecks();
  const url = new URL(`${server.url}/authorize`);
  for (const [name, value] of Object.entries({
    client_id: platform.client_id, redirect_uri: platform.redirectUri, response_type: 'code', scope: SCOPE,
    state: checks.state, nonce: checks.nonce, code_challenge: checks.challenge, code_challenge_method: 'S256',
  })) url.searchParams.set(name, value);
  const page = await timedFetch(url, {}, record);
  if (page.status !== 200) return `authorize ${page.status}`;
  const shown = shownUserCode(page.text);
  const decision = await appLogin(loginWallet, shown, '--approve');
  if (decision.code !== 0) return `approve: ${decision.stderr.trim()}`;
  const polled = await timedFetch(`${server.url}/v1/authorize/status/${pageLoginId(page.text)}`, {}, record);
  if (polled.status !== 200) return `poll ${polled.status}`;
  const decided = JSON.parse(polled.text);
  if (decided.status !== 'approved') return `poll ${decided.status}`;
  const code = new URL(decided.redirect_to).searchParams.get('code');
  const tokens = await timedFetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(platform) },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: platform.redirectUri,
      code_verifier: checks.verifier }),
  }, record);
  if (tokens.status !== 200) return `token ${tokens.status} ${tokens.text}`;
  const info = await timedFetch(`${server.url}/userinfo`,
    { headers: { authorization: `Bearer ${JSON.parse(tokens.text).access_token}` } }, record);
  return info.status === 200 ? 'ok' : `userinfo ${info.status}`;
}

/** Runs logins on `workers` loops and enrollments on one, until stop(). */
function startLoad(workers) {
  const state = { running: true, record: [], logins: [], enrollments: [] };
  let next = 1;
  const loops = Array.from({ length: workers }, async () => {
    while (state.running) {
      const started = Date.now();
      const outcome = await oneLogin(state.record).catch((error) => `error: ${error.message}`);
      state.logins.push({ at: started, outcome });
      if (outcome !== 'ok') await sleep(100);
    }
  });
  loops.push((async () => {
    while (state.running && next < people.length) {
      const person = people[next++];
      const wallet = path.join(temp.dir, `enroll-${next}.json`);
      const started = Date.now();
      const result = await appEnroll(server.url, wallet, person, photos);
      const acknowledged = result.code === 0 ? (await show(wallet)).web_number : null;
      state.enrollments.push({ at: started, person, acknowledged, stderr: result.stderr });
      await sleep(150);
    }
  })());
  return { state, async stop() { state.running = false; await Promise.all(loops); } };
}

test('the database stops and starts under login and enrollment load', { skip, timeout: 240000 }, async (t) => {
  const load = startLoad(3);
  const outages = [];
  // The outages start once a login has gone through: a fixed 2 s was not
  // always enough under the parallel suite on Citus (no login finished
  // before the first stop once, 2026-12-06). A service where none goes
  // through in a minute fails "logins before" below as it did.
  const loadStarted = Date.now();
  await sleep(2000);
  while (!load.state.logins.some((login) => login.outcome === 'ok') &&
         Date.now() - loadStarted < 60000) await sleep(100);
  for (const mode of ['stop', 'kill']) {
    const down = Date.now();
    pgClusterControl(mode);
    await sleep(3000);
    const health = await timedFetch(`${server.url}/healthz`, {}, []);
    assert.equal(health.status, 503, 'healthz says the database is down');
    pgClusterControl('restart');
    const up = Date.now();
    outages.push({ mode, down, up });
    await sleep(4000);
  }
  await load.stop();
  const { record, logins, enrollments } = load.state;
  const last = outages[outages.length - 1];

  // No 500, no hang, and what failed said so: 503 JSON with Retry-After.
  const errors = record.filter((answer) => answer.status >= 500);
  assert.deepEqual(errors.filter((answer) => answer.status !== 503).map((a) => `${a.status} ${a.text}`), []);
  assert.ok(errors.length > 0, 'the outages were seen');
  for (const answer of errors) {
    assert.match(answer.type, /^application\/json/);
    assert.equal(JSON.parse(answer.text).error, 'temporarily_unavailable');
    assert.equal(answer.retryAfter, '5');
  }
  const slowest = Math.max(...record.map((answer) => answer.ms));
  assert.ok(slowest < REQUEST_LIMIT_MS, `the slowest request took ${slowest} ms`);

  // Logins worked before, and work again after, without a restart.
  assert.ok(logins.some((login) => login.outcome === 'ok' && login.at < outages[0].down), 'logins before');
  const after = logins.filter((login) => login.at > last.up + 2000);
  assert.ok(after.length > 0 && after.every((login) => login.outcome === 'ok'),
    `logins after: ${JSON.stringify(after.filter((login) => login.outcome !== 'ok'))} of ${after.length}; ` +
    `the service logged: ${server.logs.filter((line) => /"level":"(warn|error)"/.test(line) && !/"request"/.test(line)).slice(-8).join('\n')}` +
    `\nthe coordinator logged: ${(await readFile(path.join(pgCluster().dir, 'node0.log'), 'utf8')).split('\n').slice(-40).join('\n')}`);
  const health = await timedFetch(`${server.url}/healthz`, {}, []);
  assert.equal(health.status, 200);

  // Every acknowledged enrollment is in the database.
  const acknowledged = enrollments.filter((enrollment) => enrollment.acknowledged);
  assert.ok(acknowledged.length > 0, 'some enrollments were acknowledged');
  for (const enrollment of acknowledged) {
    const rows = await sql(temp.data, `SELECT status FROM identity WHERE web_number = ${sqlText(enrollment.acknowledged)}`);
    assert.deepEqual(rows, [{ status: 'active' }], `${enrollment.acknowledged} was acknowledged and must be kept`);
  }
  const refused = enrollments.filter((enrollment) => !enrollment.acknowledged);
  for (const enrollment of refused) assert.match(enrollment.stderr, /HTTP 503|unavailable/, enrollment.stderr);
  t.diagnostic(`${logins.length} logins (${logins.filter((l) => l.outcome === 'ok').length} ok), ` +
    `${record.length} requests, ${errors.length} answered 503, slowest ${slowest} ms; ` +
    `${acknowledged.length} enrollments acknowledged and kept, ${refused.length} refused with 503`);
});
