// Due process for a suspension (README, `cyberid identity`): it needs a
// legal basis and an end date within the configured maximum; while it
// lasts every certificate of the identity is on hold (OCSP certificateHold,
// the CRL), logins are refused, and the citizen reads why and until when
// with `cyberid-app status`; when the end date passes it ends by itself
// (the test moves the date in the database; the janitor runs every
// second here), and the certificates are good again; a reinstatement
// ends it at once; an appeal (its text sealed, its reading by the operator
// an audit event) overturned reinstates at once, upheld leaves it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, initDataDir, startServer, sql, execute, inquiry } from './lib/harness.mjs';
import { exec, app, nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';

const person = { id: nationalId('110105', '1980-04-04', '041'), name: '程序', birth: '1980-04-04', photo: 'img62.jpg' };
let temp, server, citizen;

before(async () => {
  temp = await initDataDir('suspension');
  await importRegistry(temp, [person]);
  server = await startServer(temp.data, ['--janitor-interval', '1']);
  const photos = await preparePhotos(temp.dir);
  citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), person, photos);
});

after(async () => {
  if (server) await server.stop();
  if (temp) await temp.cleanup();
});

const day = (offset) => new Date(Date.now() + offset * 86400e3).toISOString().slice(0, 10);
const pki = (file) => path.join(temp.data, 'pki', file);

function suspend(until, ...extra) {
  return run(['identity', 'suspend', '--data', temp.data, '--reason', 'court_order',
    '--legal-basis', 'Order 2026-17 of the test court', '--until', until, ...extra,
    citizen.web_number]);
}

/** openssl ocsp for the citizen's certificate: status and reason. */
async function ocsp() {
  const file = path.join(temp.dir, `cert-${randomBytes(4).toString('hex')}.pem`);
  await writeFile(file, citizen.certificate);
  const result = await exec('openssl', ['ocsp', '-issuer', pki('issuing-ca.pem'), '-cert', file,
    '-url', `${server.url}/ocsp`, '-CAfile', pki('root-ca.pem'), '-verify_other', pki('issuing-ca.pem')]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const status = /: (good|revoked|unknown)\b/.exec(result.stdout)[1];
  const reason = /Reason: (\w+)/.exec(result.stdout);
  return { status, reason: reason ? reason[1] : null };
}

/** The serials the CRL lists with a hold. */
async function crlHolds() {
  const response = await fetch(`${server.url}/crl`);
  const file = path.join(temp.dir, `crl-${randomBytes(4).toString('hex')}.der`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  const result = await exec('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-text']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.includes(citizen.serial.toUpperCase()) && result.stdout.includes('Certificate Hold');
}

test('a suspension needs an end within the maximum', async () => {
  let result = await suspend(day(-1));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /ends after now and within 90 days/);
  result = await suspend(day(91));
  assert.equal(result.code, 1);
  result = await run(['identity', 'suspend', '--data', temp.data, '--reason', 'court_order',
    '--legal-basis', 'Act', citizen.web_number]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /every suspension has an end/);
  assert.equal((await ocsp()).status, 'good');
});

test('while suspended: certificates on hold, logins refused, the citizen reads why and until when', async () => {
  const result = await suspend(day(10));
  assert.equal(result.code, 0, result.stderr);
  const held = await ocsp();
  assert.equal(held.status, 'revoked');
  assert.equal(held.reason, 'certificateHold');
  assert.ok(await crlHolds(), 'the CRL lists the certificate on hold');

  const status = await app(['--wallet', citizen.wallet, 'status']);
  assert.equal(status.code, 0, status.stderr);
  const answer = JSON.parse(status.stdout);
  assert.equal(answer.status, 'suspended');
  assert.equal(answer.reason, 'court_order');
  assert.equal(answer.legal_basis, 'Order 2026-17 of the test court');
  assert.equal(answer.until, Date.parse(`${day(10)}T00:00:00Z`) / 1000);
  assert.match(status.stderr, /suspended since .* until .*Reason: court_order\. Legal basis: Order 2026-17/);
  // Other device requests are refused while suspended.
  const devices = await app(['--wallet', citizen.wallet, 'devices']);
  assert.equal(devices.code, 1);
  assert.match(devices.stderr, /not active/);
});

test('the end date passes: the suspension ends by itself, the certificates are good again', async () => {
  const now = Math.floor(Date.now() / 1000);
  assert.equal(await execute(temp.data,
    `UPDATE identity SET suspended_until = ${now - 1} WHERE web_number = '${citizen.web_number}'`), 1);
  let status;
  for (let i = 0; i < 100; i++) {
    status = await app(['--wallet', citizen.wallet, 'status']);
    if (status.code === 0 && JSON.parse(status.stdout).status === 'active') break;
    await new Promise((done) => setTimeout(done, 100));
  }
  assert.equal(JSON.parse(status.stdout).status, 'active', status.stdout);
  assert.equal(JSON.parse(status.stdout).until, null);
  assert.equal((await ocsp()).status, 'good');
  assert.ok(!(await crlHolds()), 'the CRL no longer lists it');
  const events = (await inquiry(temp.data, 'identity.suspension_ended'))
    .filter((e) => e.subject === citizen.web_number);
  assert.equal(events.length, 1);
  assert.equal(events[0].actor, 'system');
  assert.equal((await app(['--wallet', citizen.wallet, 'devices'])).code, 0);
});

test('a reinstatement ends a suspension at once', async () => {
  assert.equal((await suspend(day(5))).code, 0);
  assert.equal((await ocsp()).reason, 'certificateHold');
  const reinstated = await run(['identity', 'reinstate', '--data', temp.data, citizen.web_number]);
  assert.equal(reinstated.code, 0, reinstated.stderr);
  assert.equal((await ocsp()).status, 'good');
  const [row] = await sql(temp.data,
    `SELECT status, suspended_until, legal_basis FROM identity WHERE web_number = '${citizen.web_number}'`);
  assert.deepEqual([row.status, row.suspended_until, row.legal_basis], ['active', null, null]);
});

test('an appeal: filed while suspended, read by the operator, upheld or overturned', async () => {
  // Not suspended: nothing to appeal.
  let filed = await app(['--wallet', citizen.wallet, 'appeal', '--text', 'I did nothing']);
  assert.equal(filed.code, 1);
  assert.match(filed.stderr, /not_suspended/);

  assert.equal((await suspend(day(20))).code, 0);
  const status = await app(['--wallet', citizen.wallet, 'status']);
  assert.match(status.stderr, /To appeal: cyberid-app appeal/);
  const text = '我没有做这件事: the order names another person';
  filed = await app(['--wallet', citizen.wallet, 'appeal', '--text', text]);
  assert.equal(filed.code, 0, filed.stderr);
  const first = JSON.parse(filed.stdout).id;
  // The text is sealed at rest.
  const rows = await sql(temp.data, `SELECT sealed FROM appeal WHERE id = '${first}'`);
  assert.equal(rows.length, 1);
  assert.ok(!JSON.stringify(rows).includes('the order names another person'));

  const listed = await run(['appeal', 'list', '--data', temp.data, '--actor', 'judge_li']);
  assert.equal(listed.code, 0, listed.stderr);
  const pending = JSON.parse(listed.stdout);
  assert.deepEqual(pending.map((a) => [a.id, a.web_number, a.text]), [[first, citizen.web_number, text]]);
  const reads = (await inquiry(temp.data, 'appeal.read')).filter((e) => e.subject === citizen.web_number);
  assert.deepEqual(reads.map((r) => r.actor), ['operator:judge_li']);

  // Upheld: still suspended, the citizen reads the decision.
  let decided = await run(['appeal', 'decide', '--data', temp.data, '--uphold', '--reason', 'the order stands', first]);
  assert.equal(decided.code, 0, decided.stderr);
  assert.equal((await run(['appeal', 'decide', '--data', temp.data, '--overturn', '--reason', 'x', first])).code, 1,
    'decided once');
  let own = JSON.parse((await app(['--wallet', citizen.wallet, 'status'])).stdout);
  assert.equal(own.status, 'suspended');
  assert.deepEqual(own.appeals.map((a) => [a.id, a.status, a.decision_reason]), [[first, 'upheld', 'the order stands']]);

  // A second appeal, overturned: active at once, certificates good.
  filed = await app(['--wallet', citizen.wallet, 'appeal', '--text', 'new evidence']);
  const second = JSON.parse(filed.stdout).id;
  decided = await run(['appeal', 'decide', '--data', temp.data, '--overturn', '--reason', 'the order was quashed', second]);
  assert.equal(decided.code, 0, decided.stderr);
  own = JSON.parse((await app(['--wallet', citizen.wallet, 'status'])).stdout);
  assert.equal(own.status, 'active');
  assert.equal(own.appeals.find((a) => a.id === second).status, 'overturned');
  assert.equal((await ocsp()).status, 'good');
  const events = (await inquiry(temp.data))
    .filter((e) => e.subject === citizen.web_number && e.action.startsWith('appeal.'));
  assert.deepEqual(events.map((e) => e.action),
    ['appeal.filed', 'appeal.read', 'appeal.decided', 'appeal.filed', 'appeal.decided']);
  // The overturn reinstated in the decision's own transaction: its event
  // says so, and the reinstatement is the event just before it.
  assert.equal(events[2].details.reinstated, false);
  assert.equal(events[4].details.reinstated, true);
  const all = (await inquiry(temp.data)).filter((e) => e.subject === citizen.web_number);
  const decision = all.findIndex((e) => e.sequence === events[4].sequence);
  assert.equal(all[decision - 1].action, 'identity.reinstate');
  // Usage errors.
  assert.equal((await run(['appeal', 'decide', '--data', temp.data, '--reason', 'x', second])).code, 2);
  assert.equal((await run(['appeal', 'decide', '--data', temp.data, '--uphold', second])).code, 2);
});
