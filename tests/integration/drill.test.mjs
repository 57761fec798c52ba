// The ROCA drill (Estonia, 2017): a flaw is found in the keys behind one
// issuing CA, and every certificate it issued must stop working overnight,
// then be replaced remotely (docs/deployment.md, "The mass re-key drill").
//
// 20 citizens enroll under issuing CA generation 1. The operator runs
// `cyberid ca rotate` (generation 2 under the same root) and restarts the
// service on the same port, then `cyberid ca hold --issuer 1` while it
// serves: one command, however many certificates. From then on OCSP says
// revoked / certificateHold for every generation-1 certificate and the
// generation's CRL lists them; a login approved with one is refused with
// rekey_required. Ten citizens run `cyberid-app rekey` (the old key proves
// who asks, a new face check, a new key): they get certificates of
// generation 2, their old ones are revoked as superseded, and they log in
// to a platform (openid-client validates the ID token). The other ten stay
// refused, and OCSP says certificateHold for their certificates.
//
// Then the edges: a re-key whose device token does not bind its CSR, a
// re-key with another person's face, a re-key to the same key, and a
// re-key while the newest generation is held too: each refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, randomBytes, sign as cryptoSign } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as client from 'openid-client';
import { run, initDataDir, startServer } from './lib/harness.mjs';
import { exec, app, nationalId, importRegistry, preparePhotos, enrollCitizen, show, challenge, makeDeviceKey } from './lib/citizen.mjs';
import {
  addPlatform, discover, loginChecks, authorizationUrl, shownUserCode, pageLoginId, pollDecided, appLogin,
  deviceToken,
} from './lib/oidc.mjs';

const CITIZENS = Number(process.env.CYBERID_DRILL_CITIZENS || 20);
const SCOPE = 'openid realname_verified';

let temp, server, photos, platform, config, people;
const citizens = [];

/** Runs async jobs over items, `width` at a time (the service runs as
 * many face checks at once as it has cores). */
async function inBatches(items, width, job) {
  for (let i = 0; i < items.length; i += width) {
    await Promise.all(items.slice(i, i + width).map((item, j) => job(item, i + j)));
  }
}

const openssl = (args) => exec('openssl', args);
const pki = (file) => path.join(temp.data, 'pki', file);

before(async () => {
  temp = await initDataDir('drill');
  // Every citizen's registry photo is the same person's: the drill is
  // about certificates, not faces (each is still checked 1:1).
  people = Array.from({ length: CITIZENS }, (_, i) => ({
    id: nationalId('110105', '1980-01-01', String(100 + i)), name: `市民${i}`, birth: '1980-01-01',
    photo: 'img62.jpg',
  }));
  await importRegistry(temp, people);
  photos = await preparePhotos(temp.dir);
  server = await startServer(temp.data);
  await inBatches(people, 2, async (person, i) => {
    citizens[i] = await enrollCitizen(server.url, path.join(temp.dir, `wallet-${person.id}.json`), person, photos);
  });
  assert.equal(citizens.length, CITIZENS);
  platform = await addPlatform(temp.data, temp.dir, {
    name: 'Drill Shop', redirectUris: ['http://127.0.0.1:8409/cb'], claims: 'realname_verified',
  });
  config = await discover(server.url, platform);
});

after(async () => {
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, server.logs.slice(-20).join('\n'));
  }
  if (temp) await temp.cleanup();
});

/** Opens a login page and has the citizen's app approve it. Resolves
 * {page, decision} (the app's exit status and output). */
async function approve(citizen) {
  const checks = await loginChecks();
  const response = await fetch(authorizationUrl(config, platform, checks, SCOPE), { redirect: 'manual' });
  const html = await response.text();
  assert.equal(response.status, 200, html);
  const page = { ...checks, shown: shownUserCode(html), loginId: pageLoginId(html) };
  const decision = await appLogin(citizen.wallet, page.shown, '--approve');
  return { page, decision };
}

/** A whole login to the platform, the code exchanged by openid-client. */
async function loginAndExchange(citizen) {
  const { page, decision } = await approve(citizen);
  assert.equal(decision.code, 0, decision.stderr);
  const decided = await pollDecided(server.url, page.loginId);
  assert.equal(decided.status, 'approved', JSON.stringify(decided));
  const tokens = await client.authorizationCodeGrant(config, new URL(decided.redirect_to), {
    pkceCodeVerifier: page.verifier, expectedState: page.state, expectedNonce: page.nonce, idTokenExpected: true,
  });
  return tokens.claims();
}

/** openssl ocsp for a certificate (PEM text) against issuing CA file
 * `issuer`, the response verified against the root. */
async function ocsp(certificatePem, issuer) {
  const file = path.join(temp.dir, `ocsp-${randomBytes(6).toString('hex')}.pem`);
  await writeFile(file, certificatePem);
  const result = await openssl(['ocsp', '-issuer', pki(issuer), '-cert', file, '-url', `${server.url}/ocsp`,
    '-CAfile', pki('root-ca.pem'), '-verify_other', pki(issuer)]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  assert.match(result.stderr + result.stdout, /Response verify OK/);
  const match = /: (good|revoked|unknown)\b/.exec(result.stdout);
  assert.ok(match, result.stdout);
  const reason = /Reason: (\w+)/.exec(result.stdout);
  return { status: match[1], reason: reason ? reason[1] : null, text: result.stdout };
}

/** The CRL at path, verified against its issuing CA: its entries'
 * serials (upper-case hex) with their reasons. */
async function crl(urlPath, issuer) {
  const response = await fetch(`${server.url}${urlPath}`);
  assert.equal(response.status, 200);
  const file = path.join(temp.dir, `crl-${randomBytes(6).toString('hex')}.der`);
  await writeFile(file, Buffer.from(await response.arrayBuffer()));
  const result = await openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text', '-CAfile', pki(issuer)]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr + result.stdout, /verify OK/);
  const entries = new Map();
  for (const block of result.stdout.split('Serial Number: ').slice(1)) {
    const serial = block.split('\n')[0].trim();
    const reason = /X509v3 CRL Reason Code:\s*\n\s*(\w[\w ]*)/.exec(block);
    entries.set(serial, reason ? reason[1].trim() : null);
  }
  return entries;
}

const crlSerial = (hex) => hex.toUpperCase();

test('every citizen logs in under generation 1 before the drill', async () => {
  for (const citizen of citizens.slice(0, 2)) {
    const claims = await loginAndExchange(citizen);
    assert.equal(claims.realname_verified, true);
  }
});

test('ca rotate makes generation 2 under the root; serve issues from it once restarted', async () => {
  const rotated = await run(['ca', 'rotate', '--data', temp.data]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.equal(JSON.parse(rotated.stdout).generation, 2);
  const verified = await openssl(['verify', '-CAfile', pki('root-ca.pem'), pki('issuing-ca-2.pem')]);
  assert.equal(verified.code, 0, verified.stderr + verified.stdout);
  const port = server.port;
  assert.equal((await server.stop()).code, 0);
  server = await startServer(temp.data, ['--listen', `127.0.0.1:${port}`]);
  assert.equal(server.port, port);
  const chain = await (await fetch(`${server.url}/ca.pem`)).text();
  assert.equal(chain.match(/BEGIN CERTIFICATE/g).length, 3, 'generations 2 and 1, then the root');
  const listed = JSON.parse((await run(['ca', 'list', '--data', temp.data])).stdout);
  assert.deepEqual(listed.map((g) => [g.generation, g.issuing, g.held_at]), [[1, false, null], [2, true, null]]);
  // Still generation 1's certificates, still good.
  assert.equal((await ocsp(citizens[0].certificate, 'issuing-ca.pem')).status, 'good');
});

test('ca hold puts every certificate of generation 1 on hold at once', async () => {
  const before = Math.floor(Date.now() / 1000);
  const held = await run(['ca', 'hold', '--data', temp.data, '--issuer', '1', '--reason', 'ROCA: weak keys']);
  assert.equal(held.code, 0, held.stderr);
  const answer = JSON.parse(held.stdout);
  assert.equal(answer.generation, 1);
  assert.ok(answer.held_at >= before);
  // The reason is required; the generation must exist.
  assert.equal((await run(['ca', 'hold', '--data', temp.data, '--issuer', '1'])).code, 2);
  assert.equal((await run(['ca', 'hold', '--data', temp.data, '--issuer', '3', '--reason', 'x'])).code, 2);

  for (const citizen of citizens) {
    const status = await ocsp(citizen.certificate, 'issuing-ca.pem');
    assert.equal(status.status, 'revoked', status.text);
    assert.equal(status.reason, 'certificateHold', status.text);
  }
  const listed = await crl('/crl', 'issuing-ca.pem');
  assert.equal(listed.size, CITIZENS);
  for (const citizen of citizens) assert.equal(listed.get(crlSerial(citizen.serial)), 'Certificate Hold');

  const devices = await app(['--wallet', citizens[0].wallet, 'devices']);
  assert.notEqual(devices.code, 0, 'a held certificate does not authenticate the device list either');
  assert.match(devices.stderr, /rekey_required/);
});

test('ten citizens re-key and log in; ten stay refused with rekey_required', async () => {
  const rekeyed = citizens.slice(0, CITIZENS / 2);
  const waiting = citizens.slice(CITIZENS / 2);
  await inBatches(rekeyed, 2, async (citizen) => {
    const result = await app(['--wallet', citizen.wallet, 'rekey', '--selfie', photos.files.selfie,
      '--turn-left', photos.files.left, '--turn-right', photos.files.right]);
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout);
    assert.equal(answer.web_number, citizen.web_number);
    assert.equal(answer.replaces, citizen.serial);
    const now = await show(citizen.wallet);
    assert.equal(now.web_number, citizen.web_number);
    assert.notEqual(now.serial, citizen.serial);
    citizen.old = { serial: citizen.serial, certificate: citizen.certificate };
    Object.assign(citizen, now);
  });
  for (const citizen of rekeyed) {
    const file = path.join(temp.dir, `new-${citizen.serial}.pem`);
    await writeFile(file, citizen.certificate);
    const verified = await openssl(['verify', '-CAfile', pki('root-ca.pem'), '-untrusted', pki('issuing-ca-2.pem'), file]);
    assert.equal(verified.code, 0, `the new certificate chains to generation 2: ${verified.stderr}`);
    assert.equal((await ocsp(citizen.certificate, 'issuing-ca-2.pem')).status, 'good');
    const old = await ocsp(citizen.old.certificate, 'issuing-ca.pem');
    assert.equal(old.status, 'revoked');
    assert.equal(old.reason, 'superseded', 'the re-key revoked the old certificate itself');
    const claims = await loginAndExchange(citizen);
    assert.equal(claims.realname_verified, true);
  }
  for (const citizen of waiting) {
    const { decision } = await approve(citizen);
    assert.equal(decision.code, 1, decision.stdout);
    assert.match(decision.stderr, /rekey_required/);
    assert.match(decision.stderr, /re-key/i, 'the refusal tells the citizen what to do');
    const status = await ocsp(citizen.certificate, 'issuing-ca.pem');
    assert.equal(status.status, 'revoked');
    assert.equal(status.reason, 'certificateHold');
  }
  const first = await crl('/crl', 'issuing-ca.pem');
  assert.equal(first.size, CITIZENS);
  for (const citizen of rekeyed) assert.equal(first.get(crlSerial(citizen.old.serial)), 'Superseded');
  for (const citizen of waiting) assert.equal(first.get(crlSerial(citizen.serial)), 'Certificate Hold');
  assert.equal((await crl('/crl/2', 'issuing-ca-2.pem')).size, 0);
  assert.equal((await fetch(`${server.url}/crl/3`)).status, 404);
});

/** POST /v1/me/rekey by hand for a citizen (its wallet's key), with the
 * device token's binding and the body changed by `change`. */
async function rekeyByHand(citizen, { selfie = photos.bytes.selfie, sameKey = false, bind = true } = {}) {
  const wallet = JSON.parse(await readFile(citizen.wallet, 'utf8'));
  const oldKey = createPrivateKey(wallet.private_key);
  const device = sameKey ? null : await makeDeviceKey(temp.dir, `rekey-${randomBytes(4).toString('hex')}`);
  let csr = device?.csr, newKey = device?.privateKey;
  if (sameKey) {
    const keyFile = path.join(temp.dir, `same-${randomBytes(4).toString('hex')}.key`);
    await writeFile(keyFile, wallet.private_key, { mode: 0o600 });
    const csrFile = `${keyFile}.csr`;
    const made = await exec('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=cyberid-device', '-out', csrFile]);
    assert.equal(made.code, 0, made.stderr);
    csr = await readFile(csrFile, 'utf8');
    newKey = oldKey;
  }
  const c = await challenge(server.url);
  const body = {
    challenge_id: c.challenge_id, csr,
    selfie: selfie.toString('base64'),
    turn_frame: (c.action === 'turn_left' ? photos.bytes.left : photos.bytes.right).toString('base64'),
    nonce_signature: cryptoSign('sha256', Buffer.from(c.nonce, 'ascii'), newKey).toString('base64url'),
  };
  const binding = bind
    ? { csr_sha256: createHash('sha256').update(csr).digest('base64url'), challenge_id: c.challenge_id }
    : {};
  const token = deviceToken(server.url, oldKey, wallet.certificate, 'POST', '/v1/me/rekey', binding);
  const response = await fetch(`${server.url}/v1/me/rekey`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Device ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

test('a re-key is refused without the binding, with the same key or a face not the record\'s', async () => {
  const citizen = citizens[CITIZENS - 1];
  const person = people[CITIZENS - 1];
  let answer = await rekeyByHand(citizen, { bind: false });
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.match(answer.body.error_description, /csr_sha256/);
  answer = await rekeyByHand(citizen, { sameKey: true });
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.error, 'invalid_csr');
  // The record's reference photo becomes another person's: the same
  // selfie and turn frame are now not the record's face (1:1).
  await importRegistry(temp, [{ ...person, photo: 'img35.jpg' }]);
  answer = await rekeyByHand(citizen);
  assert.equal(answer.status, 403, JSON.stringify(answer.body));
  assert.equal(answer.body.error, 'identity_not_verified');
  await importRegistry(temp, [person]);
  // Still held, still the old certificate: nothing was issued.
  assert.equal((await ocsp(citizen.certificate, 'issuing-ca.pem')).reason, 'certificateHold');
  answer = await rekeyByHand(citizen);
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  assert.equal(answer.body.replaces, citizen.serial);
});

test('nothing is issued while the newest generation is held', async () => {
  const held = await run(['ca', 'hold', '--data', temp.data, '--issuer', '2', '--reason', 'drill: both held']);
  assert.equal(held.code, 0, held.stderr);
  const citizen = citizens[CITIZENS - 2];
  const answer = await rekeyByHand(citizen);
  assert.equal(answer.status, 503, JSON.stringify(answer.body));
  assert.equal(answer.body.error, 'temporarily_unavailable');
  // A re-keyed citizen's generation-2 certificate is now on hold too.
  const status = await ocsp(citizens[0].certificate, 'issuing-ca-2.pem');
  assert.equal(status.reason, 'certificateHold');
});
