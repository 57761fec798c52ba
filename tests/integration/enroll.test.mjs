// Enrollment end to end (docs/api.md): the reference app `cyberid-app`
// enrolls against the real `cyberid serve` with real photos, the web
// certificate is checked with the openssl CLI (chain, subject, OCSP, CRL),
// re-enrollment keeps the web number, the device API lists and revokes
// devices, and every refusal of POST /v1/enroll answers its own error code
// without writing anything.
//
// The registry, the photos and the app runner are in lib/citizen.mjs
// (which says which photo is what).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { readFile, writeFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { run, initDataDir, startServer } from './lib/harness.mjs';
import {
  exec, app, WEB_NUMBER, nationalId, importRegistry, preparePhotos, appEnroll, show,
} from './lib/citizen.mjs';

const ENROLL_BODY_LIMIT = 24 * 1024 * 1024;

// ---- helpers ----

const openssl = (args, options) => exec('openssl', args, options);

/** The same number with a wrong check character. */
function wrongCheck(id) {
  const last = id[17];
  return id.slice(0, 17) + (last === '0' ? '1' : '0');
}

/** PEM blocks of one type in a text. */
function pemBlocks(text, type = 'CERTIFICATE') {
  return text.match(new RegExp(`-----BEGIN ${type}-----[\\s\\S]+?-----END ${type}-----\\n?`, 'g')) || [];
}

/** A P-256 key and its CSR (openssl CLI), for requests made with fetch. */
async function makeDeviceKey(dir, name, curve = 'P-256') {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const keyFile = path.join(dir, `${name}.key`);
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const csrFile = path.join(dir, `${name}.csr`);
  const made = await openssl(['req', '-new', '-key', keyFile, '-subj', '/CN=cyberid-device',
    '-sha256', '-out', csrFile]);
  assert.equal(made.code, 0, made.stderr);
  return { privateKey, csr: await readFile(csrFile, 'utf8') };
}

/** A PEM CSR with one byte of its subject changed: still a well-formed
 * PKCS#10 request, whose self-signature no longer verifies. */
function tamperedCsr(pem) {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('cyberid-device'));
  assert.ok(at > 0);
  der[at] ^= 0x01;
  const lines = der.toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines}\n-----END CERTIFICATE REQUEST-----\n`;
}

async function challenge(url) {
  const response = await fetch(`${url}/v1/enroll/challenge`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  });
  assert.equal(response.status, 201);
  const body = await response.json();
  assert.match(body.action, /^turn_(left|right)$/);
  assert.equal(typeof body.challenge_id, 'string');
  assert.match(body.nonce, /^[A-Za-z0-9_-]{43}$/);
  return body;
}

/** POST /v1/enroll with a fresh challenge (unless given) and the right
 * turn frame for it, then `change` applied to the body. Resolves
 * {status, body, headers, challenge}. */
async function enrollRequest(url, person, photos, device, change = () => {}, given = null) {
  const c = given || await challenge(url);
  const body = {
    challenge_id: c.challenge_id,
    national_id: person.id,
    name: person.name,
    csr: device.csr,
    selfie: photos.bytes.selfie.toString('base64'),
    turn_frame: (c.action === 'turn_left' ? photos.bytes.left : photos.bytes.right).toString('base64'),
    nonce_signature: cryptoSign('sha256', Buffer.from(c.nonce, 'ascii'), device.privateKey).toString('base64url'),
  };
  change(body, c);
  const response = await fetch(`${url}/v1/enroll`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* checked by the caller */ }
  return { status: response.status, body: json, text, headers: response.headers, challenge: c };
}

function expectError(result, status, code) {
  assert.equal(result.status, status, `expected ${status} ${code}, got ${result.status} ${result.text}`);
  assert.ok(result.body, `not JSON: ${result.text}`);
  assert.equal(result.body.error, code, result.text);
  assert.equal(typeof result.body.error_description, 'string');
}

async function devices(wallet) {
  const result = await app(['--wallet', wallet, 'devices']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** openssl ocsp for one certificate; resolves the status word. */
async function ocspStatus(dir, url, certFile) {
  const result = await openssl(['ocsp', '-issuer', path.join(dir, 'issuing.pem'), '-cert', certFile,
    '-url', `${url}/ocsp`, '-CAfile', path.join(dir, 'ca.pem')]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  assert.match(result.stderr + result.stdout, /Response verify OK/);
  const match = /: (good|revoked|unknown)\b/.exec(result.stdout);
  assert.ok(match, result.stdout);
  return { status: match[1], text: result.stdout };
}

const normalSerial = (s) => s.toUpperCase().replace(/^0+/, '');

/** Posts a raw body with node:http and resolves the status, even when the
 * service answers before it has read the whole body. */
function postRaw(url, body) {
  return new Promise((resolve, reject) => {
    let answered = false;
    // Expect: 100-continue, as a careful client sends a large body: the
    // service answers 413 from the declared length before any byte of it,
    // and the body is never sent (sending it anyway races the server's
    // close and ends in EPIPE rather than the answer).
    const request = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' },
    }, (response) => {
      answered = true;
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    request.on('error', (error) => { if (!answered) reject(error); });
    request.on('continue', () => request.end(body));
    request.flushHeaders();
  });
}

// ---- the tests ----

const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };

test('the app enrolls; the web certificate chains, names only the web number, answers OCSP and the CRL', async () => {
  const temp = await initDataDir('enroll');
  let server;
  try {
    await importRegistry(temp, [adult]);
    const photos = await preparePhotos(temp.dir);
    server = await startServer(temp.data);
    const url = server.url;
    const wallet1 = path.join(temp.dir, 'wallet1.json');
    const wallet2 = path.join(temp.dir, 'wallet2.json');

    // Usage errors are status 2, before any request.
    assert.equal((await app(['--wallet', wallet1, 'enroll', '--id', adult.id])).code, 2);
    assert.equal((await app(['--wallet', wallet1, 'frobnicate'])).code, 2);
    assert.equal((await app(['--help'])).code, 0);

    // Enroll (the trailing slash of --server is dropped).
    const first = await appEnroll(`${url}/`, wallet1, adult, photos);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /The service asks you to turn your head to your (left|right)/);
    assert.equal(JSON.parse(first.stdout).reenrolled, false);
    assert.equal((await stat(wallet1)).mode & 0o777, 0o600);
    const shown1 = await show(wallet1);
    assert.match(shown1.web_number, WEB_NUMBER);
    assert.match(shown1.serial, /^[0-9a-fA-F]{32}$/);
    assert.equal(shown1.server, url);
    assert.equal(pemBlocks(shown1.certificate).length, 1);
    const walletJson = JSON.parse(await readFile(wallet1, 'utf8'));
    assert.equal(walletJson.version, 1);
    assert.match(walletJson.private_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(pemBlocks(walletJson.chain).length, 2);

    // The chain: GET /ca.pem is the issuing CA, then the root.
    const caResponse = await fetch(`${url}/ca.pem`);
    assert.equal(caResponse.status, 200);
    const caPem = await caResponse.text();
    const [issuing, root] = pemBlocks(caPem);
    assert.ok(issuing && root, 'ca.pem holds the issuing CA and the root');
    await writeFile(path.join(temp.dir, 'ca.pem'), caPem);
    await writeFile(path.join(temp.dir, 'issuing.pem'), issuing);
    await writeFile(path.join(temp.dir, 'root.pem'), root);
    const cert1 = path.join(temp.dir, 'cert1.pem');
    await writeFile(cert1, shown1.certificate);
    const verified = await openssl(['verify', '-CAfile', path.join(temp.dir, 'root.pem'),
      '-untrusted', path.join(temp.dir, 'issuing.pem'), cert1]);
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.match(verified.stdout, /: OK/);
    // Verified against the root alone (no issuing CA), it must not chain.
    const alone = await openssl(['verify', '-CAfile', path.join(temp.dir, 'root.pem'), cert1]);
    assert.notEqual(alone.code, 0);

    // The subject names the web number and nothing else.
    const subject = await openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', cert1]);
    assert.equal(subject.code, 0, subject.stderr);
    assert.equal(subject.stdout.trim(), `subject=CN=${shown1.web_number}`);
    const certText = await openssl(['x509', '-noout', '-text', '-in', cert1]);
    assert.ok(!certText.stdout.includes(adult.id) && !certText.stdout.includes('19800504'),
      'the certificate carries no personal data');
    assert.match(certText.stdout, /ASN1 OID: prime256v1|NIST CURVE: P-256/);

    assert.equal((await ocspStatus(temp.dir, url, cert1)).status, 'good');

    // Re-enrollment on a second device keeps the web number.
    const second = await appEnroll(url, wallet2, adult, photos);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout).reenrolled, true);
    const shown2 = await show(wallet2);
    assert.equal(shown2.web_number, shown1.web_number);
    assert.notEqual(shown2.serial, shown1.serial);

    // Both devices are listed; the asking one is `current`.
    const listed = await devices(wallet2);
    assert.equal(listed.web_number, shown1.web_number);
    assert.equal(listed.devices.length, 2);
    const bySerial = Object.fromEntries(listed.devices.map((d) => [d.serial.toLowerCase(), d]));
    assert.equal(bySerial[shown1.serial.toLowerCase()].status, 'active');
    assert.equal(bySerial[shown1.serial.toLowerCase()].current, false);
    assert.equal(bySerial[shown2.serial.toLowerCase()].current, true);

    // Device 2 revokes device 1; device 1 can no longer authenticate.
    const revoked = await app(['--wallet', wallet2, 'revoke-device', shown1.serial, '--reason', 'key_compromise']);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(JSON.parse(revoked.stdout).status, 'revoked');
    const after = await devices(wallet2);
    assert.equal(after.devices.find((d) => d.serial.toLowerCase() === shown1.serial.toLowerCase()).status, 'revoked');
    const refused = await app(['--wallet', wallet1, 'devices']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /invalid_token/);
    assert.equal((await ocspStatus(temp.dir, url, cert1)).status, 'revoked');
    const unknown = await app(['--wallet', wallet2, 'revoke-device', 'ffffffffffffffffffffffffffffffff']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not_found/);
    assert.equal((await app(['--wallet', wallet2, 'revoke-device', '../../healthz'])).code, 2);

    // Enrolling again into wallet 1 replaces it (server taken from the wallet).
    const third = await appEnroll(null, wallet1, adult, photos);
    assert.equal(third.code, 0, third.stderr);
    assert.equal((await stat(wallet1)).mode & 0o777, 0o600);
    const shown3 = await show(wallet1);
    assert.equal(shown3.web_number, shown1.web_number);
    assert.notEqual(shown3.serial, shown1.serial);
    assert.equal((await devices(wallet1)).devices.length, 3);

    // A wallet readable by others is refused.
    await exec('chmod', ['640', wallet1]);
    const open = await app(['--wallet', wallet1, 'show']);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /group or others/);
    await exec('chmod', ['600', wallet1]);

    // The operator revokes the identity: OCSP says revoked, the CRL lists
    // the serials, the devices cannot authenticate, enrollment is refused.
    const identity = await run(['identity', 'revoke', '--data', temp.data, shown1.web_number,
      '--reason', 'key_compromise']);
    assert.equal(identity.code, 0, identity.stderr);
    const cert3 = path.join(temp.dir, 'cert3.pem');
    await writeFile(cert3, shown3.certificate);
    const ocsp3 = await ocspStatus(temp.dir, url, cert3);
    assert.equal(ocsp3.status, 'revoked');
    assert.match(ocsp3.text, /Reason: keyCompromise/);
    const crlResponse = await fetch(`${url}/crl`);
    assert.equal(crlResponse.status, 200);
    assert.match(crlResponse.headers.get('content-type'), /^application\/pkix-crl/);
    const crlFile = path.join(temp.dir, 'crl.der');
    await writeFile(crlFile, Buffer.from(await crlResponse.arrayBuffer()));
    const crl = await openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
    assert.equal(crl.code, 0, crl.stderr);
    const listedSerials = [...crl.stdout.matchAll(/Serial Number: ([0-9A-Fa-f]+)/g)].map((m) => normalSerial(m[1]));
    for (const s of [shown1.serial, shown2.serial, shown3.serial]) {
      assert.ok(listedSerials.includes(normalSerial(s)), `CRL lists ${s}`);
    }
    const crlVerify = await openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout',
      '-CAfile', path.join(temp.dir, 'ca.pem')]);
    assert.equal(crlVerify.code, 0, crlVerify.stderr);
    assert.match(crlVerify.stderr + crlVerify.stdout, /verify OK/);
    assert.equal((await app(['--wallet', wallet2, 'devices'])).code, 1);
    const notActive = await appEnroll(url, path.join(temp.dir, 'wallet4.json'), adult, photos);
    assert.equal(notActive.code, 1);
    assert.match(notActive.stderr, /enrollment refused: identity_not_active/);

    // A copy of the database after enrollments holds no name, no ID number
    // and no birth date in any readable form (WAL included): only sealed
    // records, blind indexes, web numbers and certificates naming them.
    for (const file of ['cyberid.db', 'cyberid.db-wal']) {
      let bytes;
      try { bytes = await readFile(path.join(temp.data, file)); } catch { continue; }
      for (const secret of [adult.name, adult.id, adult.birth, adult.id.slice(6, 14)]) {
        assert.equal(bytes.indexOf(Buffer.from(secret, 'utf8')), -1,
          `${file} must not hold a plaintext personal value`);
      }
    }
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0, 'cyberid serve exits 0 on SIGTERM');
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});

test('POST /v1/enroll refuses each bad enrollment with its own error and writes nothing', async () => {
  const temp = await initDataDir('enroll-refusals');
  let server;
  // Each ID number gets at most 4 attempts here (the limit is 5).
  const a = { ...adult };
  const b = { id: nationalId('440524', '1975-11-30', '012'), name: '张敏', birth: '1975-11-30', photo: 'img62.jpg' };
  const c = { id: nationalId('310104', '1990-02-28', '047'), name: 'Li Na', birth: '1990-02-28', photo: 'img62.jpg' };
  const minor = { id: nationalId('110105', '2016-07-01', '022'), name: '小红', birth: '2016-07-01', photo: 'img62.jpg' };
  const stranger = { id: nationalId('110105', '1985-01-01', '019'), name: 'Nobody', birth: '1985-01-01' };
  try {
    await importRegistry(temp, [a, b, c, minor]);
    const photos = await preparePhotos(temp.dir);
    const device = await makeDeviceKey(temp.dir, 'p256');
    const p384 = await makeDeviceKey(temp.dir, 'p384', 'P-384');
    server = await startServer(temp.data);
    const url = server.url;
    const enroll = (person, change, given) => enrollRequest(url, person, photos, device, change, given);

    expectError(await enroll({ ...a, id: wrongCheck(a.id) }), 400, 'invalid_national_id');
    expectError(await enroll(stranger), 404, 'unknown_identity');
    expectError(await enroll(minor), 403, 'guardian_required');

    // c: a wrong name, then the same challenge again.
    const wrongName = await enroll({ ...c, name: 'Li Nb' });
    expectError(wrongName, 400, 'name_mismatch');
    expectError(await enroll(c, () => {}, wrongName.challenge), 400, 'invalid_challenge');
    expectError(await enroll(c, (body) => { body.challenge_id = 'no-such-challenge'; }), 400, 'invalid_challenge');
    expectError(await enroll(c, (body) => { delete body.csr; }), 400, 'invalid_request');

    // a: the face checks.
    expectError(await enroll(a, (body) => { body.selfie = photos.bytes.other.toString('base64'); }),
      403, 'face_mismatch');
    expectError(await enroll(a, (body) => { body.selfie = photos.bytes.noFace.toString('base64'); }),
      400, 'no_face');
    expectError(await enroll(a, (body) => { body.selfie = photos.bytes.couple.toString('base64'); }),
      400, 'multiple_faces');

    // b: liveness and the key.
    expectError(await enroll(b, (body, ch) => {
      body.turn_frame = (ch.action === 'turn_left' ? photos.bytes.right : photos.bytes.left).toString('base64');
    }), 403, 'liveness_failed');
    expectError(await enroll(b, (body) => { body.csr = tamperedCsr(device.csr); }), 400, 'invalid_csr');
    expectError(await enroll(b, (body, ch) => {
      body.csr = p384.csr;
      body.nonce_signature = cryptoSign('sha256', Buffer.from(ch.nonce, 'ascii'), p384.privateKey).toString('base64url');
    }), 400, 'unsupported_key');
    expectError(await enroll(b, (body) => {
      body.nonce_signature = cryptoSign('sha256', Buffer.from('another nonce', 'ascii'), device.privateKey).toString('base64url');
    }), 400, 'invalid_nonce_signature');

    // A body over ENROLL_BODY_LIMIT.
    const big = Buffer.alloc(ENROLL_BODY_LIMIT + 1, 0x20);
    big.write('{"selfie":"', 0);
    big.write('"}', big.length - 2);
    const oversized = await postRaw(`${url}/v1/enroll`, big);
    assert.equal(oversized.status, 413);
    assert.equal(JSON.parse(oversized.text).error, 'request_too_large');

    // The service still answers, and the refusals wrote nothing: a's
    // identity is created by its first successful enrollment, with one device.
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ok');
    const wallet = path.join(temp.dir, 'wallet.json');
    const enrolled = await appEnroll(url, wallet, a, photos);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.equal(JSON.parse(enrolled.stdout).reenrolled, false);
    assert.equal((await devices(wallet)).devices.length, 1);

    // The app reports a refusal by its code: b has had 4 attempts, a 5th
    // with another person's selfie is face_mismatch.
    const refused = await app(['--server', url, '--wallet', path.join(temp.dir, 'refused.json'), 'enroll',
      '--id', b.id, '--name', b.name, '--selfie', photos.files.other,
      '--turn-left', photos.files.left, '--turn-right', photos.files.right]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /enrollment refused: face_mismatch: /);
    await assert.rejects(stat(path.join(temp.dir, 'refused.json')), 'no wallet after a refusal');

    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0, 'cyberid serve exits 0 on SIGTERM');
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});

test('more than 5 attempts for one ID number in 15 minutes answer 429 with Retry-After', async () => {
  const temp = await initDataDir('enroll-attempts');
  let server;
  try {
    await importRegistry(temp, [adult]);
    const photos = await preparePhotos(temp.dir);
    const device = await makeDeviceKey(temp.dir, 'p256');
    server = await startServer(temp.data);
    for (let i = 0; i < 5; i++) {
      expectError(await enrollRequest(server.url, { ...adult, name: `Wrong ${i}` }, photos, device),
        400, 'name_mismatch');
    }
    const limited = await enrollRequest(server.url, { ...adult, name: 'Wrong 5' }, photos, device);
    expectError(limited, 429, 'too_many_attempts');
    assert.match(limited.headers.get('retry-after') || '', /^\d+$/);
    // Even a correct enrollment waits now.
    expectError(await enrollRequest(server.url, adult, photos, device), 429, 'too_many_attempts');
    const app429 = await appEnroll(server.url, path.join(temp.dir, 'w.json'), adult, photos);
    assert.equal(app429.code, 1);
    assert.match(app429.stderr, /too_many_attempts/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0);
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});
