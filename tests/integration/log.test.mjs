// The transparency log (docs/api.md, "The transparency log"): every audit
// event becomes a leaf (a salted commitment), the sequencer signs a
// checkpoint (C2SP signed note, Ed25519) over each batch, and the tree is
// served read-only as C2SP tlog-tiles. Checked from outside, as a mirror
// would: the note's signature with /log/key, the root recomputed from the
// tiles (RFC 9162) and from the entries, an older checkpoint a prefix of
// the newer one; then `cyberid log verify` holds, and catches an event
// altered in the database (and holds again once it is put back) and an
// event deleted.
//
// With CYBERID_TEST_KEYS=softhsm the checkpoint key is an Ed25519 pair in
// the SoftHSM2 token, which signs every checkpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as client from 'openid-client';
import { run, initDataDir, startServer, sql, execute, keyStore } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen, app } from './lib/citizen.mjs';
import {
  addPlatform, discover, loginChecks, authorizationUrl, shownUserCode, pageLoginId, pollDecided, appLogin,
} from './lib/oidc.mjs';

const person = { id: nationalId('110105', '1980-03-03', '031'), name: '日志', birth: '1980-03-03', photo: 'img62.jpg' };
let temp, server, citizen;

before(async () => {
  temp = await initDataDir('log');
  await importRegistry(temp, [person]);
  server = await startServer(temp.data);
  const photos = await preparePhotos(temp.dir);
  citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), person, photos);
  await addPlatform(temp.data, temp.dir, { name: 'Log Shop', redirectUris: ['http://127.0.0.1:8411/cb'] });
});

/** A whole login at a platform: page, the app's approval, the code
 * exchanged by openid-client. */
async function login(platform) {
  const config = await discover(server.url, platform);
  const checks = await loginChecks();
  const response = await fetch(authorizationUrl(config, platform, checks, 'openid realname_verified'),
    { redirect: 'manual' });
  const html = await response.text();
  assert.equal(response.status, 200, html);
  const decision = await appLogin(citizen.wallet, shownUserCode(html), '--approve');
  assert.equal(decision.code, 0, decision.stderr);
  const decided = await pollDecided(server.url, pageLoginId(html));
  await client.authorizationCodeGrant(config, new URL(decided.redirect_to), {
    pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce,
    idTokenExpected: true,
  });
}

/** `cyberid-app history --json`, once the sequencer has put every event
 * in the log. */
async function history() {
  const want = await eventCount();
  for (let i = 0; i < 100; i++) {
    const result = await app(['--wallet', citizen.wallet, 'history', '--json']);
    if (result.code !== 0 || JSON.parse(result.stdout).checkpoint_size === want) return result;
    await new Promise((done) => setTimeout(done, 100));
  }
  assert.fail('the log did not catch up');
}

after(async () => {
  if (server) await server.stop();
  if (temp) await temp.cleanup();
});

const sha256 = (...parts) => createHash('sha256').update(Buffer.concat(parts)).digest();
const leafHash = (data) => sha256(Buffer.from([0]), data);
const nodeHash = (left, right) => sha256(Buffer.from([1]), left, right);

/** RFC 9162 MTH of leaf hashes. */
function root(hashes) {
  if (hashes.length === 1) return hashes[0];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(root(hashes.slice(0, k)), root(hashes.slice(k)));
}

/** The checkpoint's signature checked with the verifier key; its body. */
function openNote(note, vkey) {
  const text0 = vkey.trim();
  const first = text0.indexOf('+');
  const name = text0.slice(0, first), hash = text0.slice(first + 1, first + 9), key = text0.slice(first + 10);
  const raw = Buffer.from(key, 'base64');
  assert.equal(raw[0], 1, 'an Ed25519 verifier key');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.subarray(1).toString('base64url') }, format: 'jwk' });
  const split = note.indexOf('\n\n');
  const text = note.slice(0, split + 1);
  const line = note.slice(split + 2).split('\n').find((l) => l.startsWith(`\u2014 ${name} `));
  assert.ok(line, note);
  const signature = Buffer.from(line.split(' ')[2], 'base64');
  assert.equal(signature.subarray(0, 4).toString('hex'), hash);
  assert.ok(cryptoVerify(null, Buffer.from(text), publicKey, signature.subarray(4)), 'the note verifies');
  const [origin, size, rootText] = text.trimEnd().split('\n');
  assert.equal(origin, name);
  return { size: Number(size), root: Buffer.from(rootText, 'base64') };
}

async function eventCount() {
  return Number((await sql(temp.data, 'SELECT COUNT(*) AS n FROM audit_event'))[0].n);
}

/** The latest checkpoint once it covers every event (the sequencer runs
 * every half second). */
async function settledCheckpoint(vkey) {
  const want = await eventCount();
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${server.url}/log/checkpoint`);
    if (response.status === 200) {
      const checkpoint = openNote(await response.text(), vkey);
      if (checkpoint.size === want) return checkpoint;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  assert.fail(`no checkpoint of ${want} events`);
}

async function tile(pathText) {
  const response = await fetch(`${server.url}/log/tile/${pathText}`);
  assert.equal(response.status, 200, pathText);
  return { bytes: Buffer.from(await response.arrayBuffer()), cache: response.headers.get('cache-control') };
}

test('the log is signed, served as tiles, and grows append-only', async () => {
  const vkey = await (await fetch(`${server.url}/log/key`)).text();
  assert.match(vkey, /^cyberid\/[0-9a-f]{16}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
  const first = await settledCheckpoint(vkey);
  assert.ok(first.size >= 4, 'init, registry import, enrollment, platform: events');
  assert.ok(first.size < 256);

  // The level-0 tile and the entries: the leaf hashes and their data.
  const hashes = await tile(`0/000.p/${first.size}`);
  assert.equal(hashes.bytes.length, 32 * first.size);
  assert.match(hashes.cache, /max-age=10/, 'a partial tile may grow');
  const entries = await tile(`entries/000.p/${first.size}`);
  assert.equal(entries.bytes.length, 34 * first.size);
  const leaves = [];
  for (let i = 0; i < first.size; i++) {
    assert.equal(entries.bytes.readUInt16BE(34 * i), 32);
    const commitment = entries.bytes.subarray(34 * i + 2, 34 * i + 34);
    const hash = hashes.bytes.subarray(32 * i, 32 * i + 32);
    assert.deepEqual(leafHash(commitment), hash, `leaf ${i}: its hash is its entry's`);
    leaves.push(hash);
  }
  assert.deepEqual(root(leaves), first.root, 'the tiles give the signed root');
  // The entries are commitments: no event text in them.
  assert.ok(!entries.bytes.includes(Buffer.from('identity.enroll')));

  // More events: a new checkpoint whose tree starts with the old one.
  await addPlatform(temp.data, temp.dir, { name: 'Log Shop Two', redirectUris: ['http://127.0.0.1:8412/cb'] });
  const second = await settledCheckpoint(vkey);
  assert.ok(second.size > first.size);
  const grown = await tile(`0/000.p/${second.size}`);
  const grownLeaves = [];
  for (let i = 0; i < second.size; i++) grownLeaves.push(grown.bytes.subarray(32 * i, 32 * i + 32));
  assert.deepEqual(root(grownLeaves), second.root);
  assert.deepEqual(root(grownLeaves.slice(0, first.size)), first.root, 'append-only');
  // No tile past the signed size, and no malformed path.
  assert.equal((await fetch(`${server.url}/log/tile/0/000.p/${second.size + 1}`)).status, 404);
  assert.equal((await fetch(`${server.url}/log/tile/0/000`)).status, 404, 'no full tile yet');
  assert.equal((await fetch(`${server.url}/log/tile/0/0`)).status, 404);
});

test('the citizen\'s history: enrollment, logins at two platforms, the operator\'s read, each verified', async () => {
  const shop = await addPlatform(temp.data, temp.dir, {
    name: 'History Shop', redirectUris: ['http://127.0.0.1:8413/cb'], claims: 'realname_verified' });
  const bank = await addPlatform(temp.data, temp.dir, {
    name: 'History Bank', redirectUris: ['http://127.0.0.1:8414/cb'], claims: 'realname_verified' });
  await login(shop);
  await login(bank);
  // And one the citizen denies: the history says what was asked.
  const config = await discover(server.url, shop);
  const page = await fetch(authorizationUrl(config, shop, await loginChecks(), 'openid realname_verified'),
    { redirect: 'manual' });
  const denied = await appLogin(citizen.wallet, shownUserCode(await page.text()), '--deny');
  assert.equal(denied.code, 0, denied.stderr);
  const shown = await run(['identity', 'show', '--data', temp.data, citizen.web_number]);
  assert.equal(shown.code, 0, shown.stderr);

  const result = await history();
  assert.equal(result.code, 0, result.stderr);
  const answer = JSON.parse(result.stdout);
  assert.equal(answer.verified, true);
  const actions = answer.entries.map((e) => `${e.action} ${e.actor}`);
  assert.ok(actions.includes(`identity.enroll citizen:${citizen.web_number}`), actions.join('\n'));
  assert.ok(actions.includes(`claims.disclosed platform:${shop.client_id}`), actions.join('\n'));
  assert.ok(actions.includes(`claims.disclosed platform:${bank.client_id}`), actions.join('\n'));
  assert.ok(actions.some((a) => a.startsWith('identity.read operator')), actions.join('\n'));
  const wallet = JSON.parse(await readFile(citizen.wallet, 'utf8'));
  assert.match(wallet.log_key, /^cyberid\//);
  assert.match(wallet.log_checkpoint, new RegExp(`^${answer.checkpoint_size} `));
  // The table a person reads: dates in local time, claims and actors in
  // words, in English and in Chinese.
  const table = await app(['--lang', 'en', '--wallet', citizen.wallet, 'history']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /enrolled: this web number was made/);
  assert.match(table.stdout, /claims were released to a platform: real-name verified +platform History Shop\n/);
  assert.match(table.stdout, /a login was approved \(History Bank\): real-name verified +you\n/);
  assert.match(table.stdout, /a login was denied \(History Shop\) \(asked: real-name verified\) +you\n/);
  assert.match(table.stdout, /your record was read +the operator/);
  assert.match(table.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /m);
  const chinese = await app(['--lang', 'zh', '--wallet', citizen.wallet, 'history']);
  assert.equal(chinese.code, 0, chinese.stderr);
  assert.match(chinese.stdout, /注册：生成了此网号/);
  assert.match(chinese.stdout, /向平台提供了信息：已实名认证 +\/ +平台 History Bank\n/);
  assert.match(chinese.stdout, /批准了一次登录（History Shop）：已实名认证 +\/ +您\n/);
  assert.match(chinese.stdout, /您的记录被查阅 +\/ +运营方/);
  assert.match(chinese.stdout, /^\d{4}年\d\d月\d\d日 \d\d:\d\d:\d\d /m);
  assert.equal((await app(['--lang', 'fr', '--wallet', citizen.wallet, 'history'])).code, 2);
});

test('an event altered in the database: log verify and the citizen\'s app both say so', async () => {
  // The citizen's events are sealed: the row shows the time and the
  // action, a blind subject, and nothing else.
  const [event] = await sql(temp.data,
    "SELECT sequence, time, actor, subject, details FROM audit_event WHERE action = 'identity.enroll'");
  assert.equal(event.actor, 'sealed');
  assert.match(event.subject, /^c:[0-9a-f]{64}$/);
  assert.equal(event.details, '{}');
  const caught = async (what) => {
    const verified = await run(['log', 'verify', '--data', temp.data]);
    assert.equal(verified.code, 1, `${what}: ${verified.stdout}`);
    const result = await app(['--wallet', citizen.wallet, 'history']);
    assert.equal(result.code, 1, `${what}: ${result.stdout}`);
    assert.match(result.stderr, /log_inconsistent/, what);
  };
  // Its time moved: no longer what its leaf commits to.
  assert.equal(await execute(temp.data,
    `UPDATE audit_event SET time = time + 3600 WHERE sequence = ${event.sequence}`), 1);
  await caught('time moved');
  assert.equal(await execute(temp.data,
    `UPDATE audit_event SET time = ${event.time} WHERE sequence = ${event.sequence}`), 1);
  assert.equal((await app(['--wallet', citizen.wallet, 'history'])).code, 0);
  // Its seal replaced (kept aside in the salt column, unused by a sealed
  // event, to be put back): it no longer opens.
  assert.equal(await execute(temp.data,
    `UPDATE audit_event SET salt = sealed, sealed = commitment WHERE sequence = ${event.sequence}`), 1);
  await caught('seal replaced');
  assert.equal(await execute(temp.data,
    `UPDATE audit_event SET sealed = salt, salt = NULL WHERE sequence = ${event.sequence}`), 1);
  assert.equal((await app(['--wallet', citizen.wallet, 'history'])).code, 0);
});

test('cyberid log verify holds, and catches an event altered or deleted', async () => {
  await settledCheckpoint(await (await fetch(`${server.url}/log/key`)).text());
  const verified = await run(['log', 'verify', '--data', temp.data]);
  assert.equal(verified.code, 0, verified.stderr + verified.stdout);
  const report = JSON.parse(verified.stdout);
  assert.equal(report.problem, null);
  assert.equal(report.events, report.leaves);
  assert.equal(report.leaves, await eventCount());

  const [event] = await sql(temp.data, 'SELECT sequence, details FROM audit_event WHERE leaf = 0');
  assert.equal(await execute(temp.data, `UPDATE audit_event SET details = '{"forged":true}' WHERE leaf = 0`), 1);
  let result = await run(['log', 'verify', '--data', temp.data]);
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, /is not what leaf 0 commits to/);
  assert.match(JSON.parse(result.stdout).problem, /leaf 0/);
  const original = String(event.details).replaceAll("'", "''");
  assert.equal(await execute(temp.data, `UPDATE audit_event SET details = '${original}' WHERE leaf = 0`), 1);
  result = await run(['log', 'verify', '--data', temp.data]);
  assert.equal(result.code, 0, result.stderr);

  const last = report.leaves - 1;
  assert.equal(await execute(temp.data, `DELETE FROM audit_event WHERE leaf = ${last}`), 1);
  result = await run(['log', 'verify', '--data', temp.data]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`leaf ${last} has no event`));

  // One of the citizen's own events, which their app has seen, deleted:
  // the app's next history lacks it and says so.
  assert.equal(await execute(temp.data, "DELETE FROM audit_event WHERE action = 'identity.enroll'"), 1);
  const history = await app(['--wallet', citizen.wallet, 'history']);
  assert.equal(history.code, 1, history.stdout);
  assert.match(history.stderr, /log_inconsistent: an event of yours that this wallet saw before is gone/);
});

test('the checkpoint key is made once: cyberid log init refuses a second', async () => {
  const init = await run(['log', 'init', '--data', temp.data]);
  assert.equal(init.code, 1);
  assert.match(init.stderr, keyStore === 'softhsm' ? /already holds a key labelled cyberid-log-checkpoint/ : /exists/);
  assert.ok(!server.logs.some((line) => line.includes('"log_unsigned"')));
});

test('a log rewritten from scratch is caught by the app that saw the old one', async () => {
  // The operator (or whoever holds the database) throws the tree away,
  // drops an old event and lets a new signer process build the log
  // again: a fine-looking log, signed, that is not the one the citizen
  // saw.
  const port = server.port;
  await server.stop();
  await execute(temp.data, 'DELETE FROM log_checkpoint');
  await execute(temp.data, 'DELETE FROM log_hash');
  await execute(temp.data, 'DELETE FROM log_leaf');
  await execute(temp.data, "DELETE FROM audit_event WHERE action = 'service.init'");
  await execute(temp.data, 'UPDATE audit_event SET leaf = NULL');
  server = await startServer(temp.data, ['--listen', `127.0.0.1:${port}`]);
  let result;
  for (let i = 0; i < 100; i++) {
    result = await app(['--wallet', citizen.wallet, 'history']);
    if (!/no checkpoint yet/.test(result.stderr)) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stderr, /log_inconsistent: .*(rewritten|smaller)/);
  // The rebuilt log is self-consistent: only the citizen's memory of it
  // catches the rewrite.
  assert.equal((await run(['log', 'verify', '--data', temp.data])).code, 0);
});
