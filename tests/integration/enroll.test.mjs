// Enrollment end to end (docs/api.md): the reference app `cyberid-app`
// enrolls against the real `cyberid serve` with real photos, the web
// certificate is checked with the openssl CLI (chain, subject, OCSP, CRL),
// re-enrollment keeps the web number, the device API lists and revokes
// devices (device tokens are checked claim by claim), the operator's
// `identity show` is audited, the web number's check symbol is checked here
// independently, every refusal of POST /v1/enroll answers its error code
// and writes nothing but its attempt limits and audit event, and the
// database holds no personal data and no face descriptor. What a hostile
// client can and cannot do (the registry oracle, the attempt limits) is in
// enroll-limits.test.mjs.
//
// The registry, the photos and the app runner are in lib/citizen.mjs
// (which says which photo is what).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createPrivateKey, randomBytes, randomInt, sign as cryptoSign } from 'node:crypto';
import { readFile, writeFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  run, initDataDir, startServer, sql, sqlText, execute, tableNames, databaseCopy, containsSecret, inquiry,
} from './lib/harness.mjs';
import {
  exec, app, faces, WEB_NUMBER, nationalId, importRegistry, preparePhotos, appEnroll, show,
  makeDeviceKey, challenge, enrollRequest, expectError,
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

/** The same question over GET (RFC 6960 A.1, RFC 5019): the request made
 * by openssl without a nonce, its base64 URL-encoded in the path; the
 * answer read back by openssl. Resolves the status word and the headers. */
async function ocspStatusByGet(dir, url, certFile) {
  const requestFile = path.join(dir, 'ocsp-get.req');
  const responseFile = path.join(dir, 'ocsp-get.resp');
  const made = await openssl(['ocsp', '-issuer', path.join(dir, 'issuing.pem'), '-cert', certFile,
    '-no_nonce', '-reqout', requestFile]);
  assert.equal(made.code, 0, made.stderr);
  const encoded = encodeURIComponent((await readFile(requestFile)).toString('base64'));
  const response = await fetch(`${url}/ocsp/${encoded}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/ocsp-response');
  await writeFile(responseFile, Buffer.from(await response.arrayBuffer()));
  const read = await openssl(['ocsp', '-respin', responseFile, '-issuer', path.join(dir, 'issuing.pem'),
    '-cert', certFile, '-CAfile', path.join(dir, 'ca.pem')]);
  assert.equal(read.code, 0, read.stderr + read.stdout);
  assert.match(read.stderr + read.stdout, /Response verify OK/);
  const match = /: (good|revoked|unknown)\b/.exec(read.stdout);
  assert.ok(match, read.stdout);
  return { status: match[1], text: read.stdout, headers: response.headers };
}

const normalSerial = (s) => s.toUpperCase().replace(/^0+/, '');

/** The CRL Number extension's value in `openssl crl -text` output. */
function crlNumber(text) {
  const match = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text);
  assert.ok(match, text);
  return Number(match[1]);
}

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

// ---- the web number's check symbol, implemented here from docs/api.md ----
// (independently of src/enroll/web_number.c, which it is cross-checked
// against through `cyberid identity show`, which validates its argument)

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** t·x in GF(2^5) = GF(2)[t]/(t^5+t^2+1): shift left, reduce by 0b100101. */
function timesT(x) {
  const shifted = x << 1;
  return (shifted & 0b100000 ? shifted ^ 0b100101 : shifted) & 0b11111;
}

/** The Damm interim after the symbols of text (x∘y = t·x ⊕ y from 0), or
 * -1 for a character outside the alphabet. */
function dammInterim(text) {
  let interim = 0;
  for (const character of text) {
    const value = CROCKFORD.indexOf(character);
    if (value < 0) return -1;
    interim = timesT(interim) ^ value;
  }
  return interim;
}

/** Whether text is a canonical web number: 16 symbols, interim 0. */
const webNumberValid = (text) => text.length === 16 && dammInterim(text) === 0;

/** 15 symbols and their check symbol c: t·interim ⊕ c = 0. */
const withCheck = (body) => body + CROCKFORD[timesT(dammInterim(body))];

/** Every single-symbol change and every swap of two adjacent different
 * symbols of a valid web number. */
function webNumberErrors(webNumber) {
  const changes = [], swaps = [];
  for (let i = 0; i < webNumber.length; i++) {
    for (const symbol of CROCKFORD) {
      if (symbol !== webNumber[i]) changes.push(webNumber.slice(0, i) + symbol + webNumber.slice(i + 1));
    }
  }
  for (let i = 0; i + 1 < webNumber.length; i++) {
    if (webNumber[i] === webNumber[i + 1]) continue;
    swaps.push(webNumber.slice(0, i) + webNumber[i + 1] + webNumber[i] + webNumber.slice(i + 2));
  }
  return { changes, swaps };
}

function assertWebNumber(webNumber) {
  assert.match(webNumber, WEB_NUMBER);
  assert.ok(webNumberValid(webNumber), `${webNumber}: the check symbol does not verify`);
  const { changes, swaps } = webNumberErrors(webNumber);
  assert.equal(changes.length, 16 * 31);
  for (const error of [...changes, ...swaps]) {
    assert.ok(!webNumberValid(error), `${error} (an error in ${webNumber}) passes the check`);
  }
}

// ---- device tokens built here (docs/api.md, "Devices") ----

/** A compact JWS for GET /v1/me/devices: header with certificatePem in
 * x5c, payload defaults overridden by claims, signed by signer. */
function deviceToken(signer, certificatePem, claims, extraHeader = {}) {
  const der = certificatePem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const header = { alg: 'ES256', typ: 'cyberid-device+jwt', x5c: [der], ...extraHeader };
  const now = Math.floor(Date.now() / 1000);
  const payload = { htm: 'GET', htu: '/v1/me/devices', iat: now, exp: now + 60,
    jti: randomBytes(24).toString('base64url'), ...claims };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = cryptoSign('sha256', Buffer.from(input), { key: signer, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** GET /v1/me/devices with a device token. */
async function meDevices(url, token, query = '') {
  const response = await fetch(`${url}/v1/me/devices${query}`, { headers: { authorization: `Device ${token}` } });
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* checked by the caller */ }
  return { status: response.status, body, text, authenticate: response.headers.get('www-authenticate') };
}

function expectInvalidToken(result, why) {
  assert.equal(result.status, 401, `${why}: expected 401, got ${result.status} ${result.text}`);
  assert.equal(result.body?.error, 'invalid_token', `${why}: ${result.text}`);
  assert.match(result.authenticate || '', /^Device\b/, `${why}: WWW-Authenticate`);
}

/** The service's checks of a device token, one claim at a time, with the
 * key and certificate of a current device (docs/api.md, "Devices"). */
async function checkDeviceTokens(url, citizen) {
  const key = createPrivateKey(JSON.parse(await readFile(citizen.wallet, 'utf8')).private_key);
  const token = (claims, signer = key) => deviceToken(signer, citizen.certificate, { aud: url, ...claims });
  const now = () => Math.floor(Date.now() / 1000);
  const accepted = async (claims, why, query) => {
    const result = await meDevices(url, token(claims), query);
    assert.equal(result.status, 200, `${why}: ${result.text}`);
    assert.equal(result.body.web_number, citizen.web_number);
    const me = result.body.devices.find((d) => d.serial.toLowerCase() === citizen.serial.toLowerCase());
    assert.equal(me?.current, true, `${why}: the asking device is current`);
  };

  // A correct token is accepted once: neither it nor its jti again.
  const jti = randomBytes(18).toString('base64url');
  const once = token({ jti });
  assert.equal((await meDevices(url, once)).status, 200);
  expectInvalidToken(await meDevices(url, once), 'the same token again');
  expectInvalidToken(await meDevices(url, token({ jti, iat: now() - 1 })), 'a new token with a used jti');

  const refused = {
    'another audience': { aud: 'https://other.example' },
    'the audience with a trailing slash': { aud: `${url}/` },
    'another method': { htm: 'POST' },
    'another path': { htu: '/v1/me/devices/' },
    'the path with a query': { htu: '/v1/me/devices?all=1' },
    'another route': { htu: `/v1/me/devices/${citizen.serial}/revoke` },
    'an expired token': { iat: now() - 50, exp: now() - 5 },
    'iat 90 s in the past': { iat: now() - 90, exp: now() + 20 },
    'iat 90 s in the future': { iat: now() + 90, exp: now() + 100 },
    'exp 121 s after iat': { iat: now(), exp: now() + 121 },
    'no exp': { exp: undefined },
    'a jti of 15 characters': { jti: 'a'.repeat(15) },
  };
  for (const [why, claims] of Object.entries(refused)) {
    expectInvalidToken(await meDevices(url, token(claims)), why);
  }
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  expectInvalidToken(await meDevices(url, token({}, otherKey)), 'signed by another key');
  // RFC 7515 §4.1.11: critical extensions the service does not implement.
  for (const crit of [['exp'], ['b64'], ['urn:example:ext'], []]) {
    const critical = deviceToken(key, citizen.certificate, { aud: url }, { crit, b64: true });
    expectInvalidToken(await meDevices(url, critical), `crit ${JSON.stringify(crit)}`);
  }
  // The compact serialization itself (RFC 7515 §7.1), parsed by the service.
  const [h, p, s] = token({}).split('.');
  const b64 = (text) => Buffer.from(text).toString('base64url');
  const signed = (header, payload, dsaEncoding = 'ieee-p1363') => {
    const input = `${header}.${payload}`;
    return `${input}.${cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding }).toString('base64url')}`;
  };
  const noneHeader = b64(JSON.stringify({ ...JSON.parse(Buffer.from(h, 'base64url')), alg: 'none' }));
  const malformed = {
    'four parts': `${h}.${p}.${s}.${s}`,
    'two parts': `${h}.${p}`,
    'an empty signature': `${h}.${p}.`,
    'padding': `${h}=.${p}.${s}`,
    'a header that is not base64url': `${h}*.${p}.${s}`,
    'a header that is not JSON': signed(b64('not json'), p),
    'a payload that is not a JSON object': signed(h, b64('[1,2]')),
    'a signature of 63 bytes': `${h}.${p}.${Buffer.from(s, 'base64url').subarray(0, 63).toString('base64url')}`,
    'a DER signature': signed(h, p, 'der'),
    'alg none': `${noneHeader}.${p}.`,
  };
  for (const [why, bad] of Object.entries(malformed)) {
    expectInvalidToken(await meDevices(url, bad), why);
  }
  // And the same parts, well formed, still pass (the test above is not
  // refusing for a reason of its own).
  assert.equal((await meDevices(url, signed(h, b64(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url')), jti: randomBytes(18).toString('base64url') }))))).status, 200);
  expectInvalidToken(await meDevices(url, 'x'), 'not a JWS');

  // Within the limits, accepted (so the refusals above are each one claim's).
  await accepted({ iat: now() - 30, exp: now() + 60 }, 'iat 30 s in the past');
  await accepted({ iat: now() + 30, exp: now() + 60 }, 'iat 30 s in the future');
  await accepted({ iat: now(), exp: now() + 120 }, 'exp 120 s after iat');
  await accepted({}, 'htu is the path without the query', '?all=1');
}

// ---- what the database holds ----

/** Row counts of every table, and of audit events by action. The
 * transparency log's tables (log_*) are left out: the sequencer fills them
 * in the background from the audit events, a second later, whatever the
 * request. */
async function rowCounts(data) {
  const tables = (await tableNames(data)).filter((name) => !name.startsWith('log_'));
  const counts = {};
  const [row] = await sql(data, `SELECT ${tables.map((name) => `(SELECT COUNT(*) FROM "${name}") AS "${name}"`).join(', ')}`);
  Object.assign(counts, row);
  for (const { action, n } of await sql(data, 'SELECT action, COUNT(*) AS n FROM audit_event GROUP BY action')) {
    counts[`audit_event:${action}`] = n;
  }
  const [{ unused }] = await sql(data, 'SELECT COUNT(*) AS unused FROM enroll_challenge WHERE used = 0');
  counts['enroll_challenge:unused'] = unused;
  return counts;
}

/** What changed between two rowCounts(): {key: difference}, zeros left out. */
function countChanges(before, after) {
  const changes = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const difference = (after[key] ?? 0) - (before[key] ?? 0);
    if (difference !== 0) changes[key] = difference;
  }
  return changes;
}

/** The last audit event, opened by the operator's `cyberid log events`
 * (a citizen's events are sealed in the database). */
async function lastAuditEvent(data) {
  return (await inquiry(data)).pop();
}

/** One refusal, from a challenge taken before it, writes nothing but its
 * attempt limits (a row per key, new only for a new device key) and its
 * audit event, and uses up the challenge. Resolves the refusal and its
 * audit event. */
async function refusedWritingNothing(data, attempt) {
  const before = await rowCounts(data);
  const result = await attempt();
  const after = await rowCounts(data);
  const changes = countChanges(before, after);
  assert.ok((changes.attempt_limit ?? 0) <= 1, JSON.stringify(changes));
  delete changes.attempt_limit;
  assert.deepEqual(changes, {
    audit_event: 1, 'audit_event:enroll.refused': 1, 'enroll_challenge:unused': -1,
  }, `a refusal (${result.text}) writes only its attempt limits and audit event`);
  const event = await lastAuditEvent(data);
  assert.equal(event.action, 'enroll.refused');
  assert.equal(event.actor, 'applicant');
  assert.deepEqual(event.details, { reason: result.body.error });
  return { result, event };
}

/** The face descriptor the engine computes for an image
 * (`cyberid face descriptor`), as the engine's float32s, little-endian:
 * the bytes a careless store would write. */
async function descriptorBytes(image) {
  const result = await run(['face', 'descriptor', image]);
  assert.equal(result.code, 0, `cyberid face descriptor ${image}: ${result.stderr}`);
  const { descriptor } = JSON.parse(result.stdout);
  assert.equal(descriptor.length, 128);
  const bytes = Buffer.alloc(4 * descriptor.length);
  descriptor.forEach((x, i) => bytes.writeFloatLE(Math.fround(x), 4 * i));
  return bytes;
}

/** Where haystack holds any window of `width` consecutive bytes of needle:
 * {at, from} (first hit), or null. One pass over haystack. */
function findAnyWindow(haystack, needle, width = 16) {
  const starts = new Map();
  for (let from = 0; from + width <= needle.length; from++) {
    const key = needle.readUInt32LE(from);
    if (!starts.has(key)) starts.set(key, []);
    starts.get(key).push(from);
  }
  for (let at = 0; at + width <= haystack.length; at++) {
    const candidates = starts.get(haystack.readUInt32LE(at));
    if (!candidates) continue;
    for (const from of candidates) {
      if (haystack.compare(needle, from, from + width, at, at + width) === 0) return { at, from };
    }
  }
  return null;
}

/** Asserts that the bytes of file hold no trace of a descriptor: not the
 * 512 bytes, no 16 of them in a row, not their base64 or base64url. */
function assertNoDescriptor(bytes, descriptor, what) {
  assert.equal(bytes.indexOf(descriptor), -1, `${what}: the whole descriptor is there`);
  const hit = findAnyWindow(bytes, descriptor);
  assert.equal(hit, null, `${what}: descriptor bytes ${hit?.from}..${hit?.from + 15} are at offset ${hit?.at}`);
  // As hex text too (BYTEA in a pg_dump): 16 bytes are 32 characters.
  const hexHit = findAnyWindow(bytes, Buffer.from(descriptor.toString('hex')), 32);
  assert.equal(hexHit, null, `${what}: descriptor bytes are there as hex at offset ${hexHit?.at}`);
  for (const text of [descriptor.toString('base64'), descriptor.toString('base64url')]) {
    assert.equal(bytes.indexOf(text.slice(0, 64)), -1, `${what}: the descriptor is there in base64`);
  }
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
    // A photo that is not there is said to be missing, not too big.
    const missing = await appEnroll(url, wallet1, adult,
      { files: { ...photos.files, selfie: path.join(temp.dir, 'no-such-selfie.jpg') } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /selfie image: cannot open .*no-such-selfie\.jpg: No such file/);
    assert.doesNotMatch(missing.stderr, /MiB/);

    // Enroll (the trailing slash of --server is dropped).
    const first = await appEnroll(`${url}/`, wallet1, adult, photos);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /The service asks you to turn your head to your (left|right)/);
    assert.equal(JSON.parse(first.stdout).reenrolled, false);
    assert.equal((await stat(wallet1)).mode & 0o777, 0o600);
    const shown1 = await show(wallet1);
    assertWebNumber(shown1.web_number);
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
    // And over GET, with the cache headers of RFC 5019 §6.
    const byGet = await ocspStatusByGet(temp.dir, url, cert1);
    assert.equal(byGet.status, 'good');
    assert.match(byGet.headers.get('cache-control'), /^max-age=3600, public, no-transform, must-revalidate$/);
    const modified = Date.parse(byGet.headers.get('last-modified'));
    assert.equal(Date.parse(byGet.headers.get('expires')) - modified, 3600 * 1000);
    assert.ok(Math.abs(modified - Date.now()) < 5000, 'Last-Modified is thisUpdate, now');
    assert.match(byGet.headers.get('etag'), /^"[0-9a-f]{32}"$/);
    // Not base64, or not an OCSP request: malformedRequest, as over POST.
    for (const junk of ['%21%21%21', 'AAAA', 'a/b/c']) {
      const answer = await fetch(`${url}/ocsp/${junk}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      const der = Buffer.from(await answer.arrayBuffer());
      assert.deepEqual([...der], [0x30, 0x03, 0x0a, 0x01, 0x01], `malformedRequest for ${junk}`);
    }

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

    // The audit log: the first enrollment is identity.enroll, the second
    // device.enroll, each by the citizen under the web number, naming the
    // certificate serial and no personal data.
    const enrollEvents = (await inquiry(temp.data))
      .filter((e) => e.action === 'identity.enroll' || e.action === 'device.enroll');
    assert.deepEqual(enrollEvents.map((e) => [e.action, e.actor, e.subject, e.details]), [
      ['identity.enroll', `citizen:${shown1.web_number}`, shown1.web_number,
        { serial: shown1.serial, reenrolled: false, acr: 'cyberid:face' }],
      ['device.enroll', `citizen:${shown1.web_number}`, shown1.web_number,
        { serial: shown2.serial, reenrolled: true, acr: 'cyberid:face' }],
    ]);

    // The operator's `identity show`: status and devices, no personal
    // data, and the reading is itself an audit event (actor operator, or
    // operator:NAME). Any case and hyphens are accepted.
    const identityShown = await run(['identity', 'show', '--data', temp.data, shown1.web_number]);
    assert.equal(identityShown.code, 0, identityShown.stderr);
    const operatorView = JSON.parse(identityShown.stdout);
    assert.equal(operatorView.web_number, shown1.web_number);
    assert.equal(operatorView.status, 'active');
    assert.equal(operatorView.status_reason, null);
    assert.deepEqual(operatorView.devices.map((d) => [d.serial.toLowerCase(), d.status, d.revoked_at]).sort(),
      [shown1.serial, shown2.serial].map((serial) => [serial.toLowerCase(), 'active', null]).sort());
    for (const device of operatorView.devices) assert.ok(device.not_after > device.created_at);
    for (const secret of [adult.name, adult.id, adult.birth, adult.id.slice(6, 14), adult.id.slice(0, 17)]) {
      assert.ok(!identityShown.stdout.includes(secret), `identity show prints ${secret}`);
    }
    const hyphenated = shown1.web_number.toLowerCase().match(/.{4}/g).join('-');
    const shownByAlice = await run(['identity', 'show', '--data', temp.data, '--actor', 'alice', hyphenated]);
    assert.equal(shownByAlice.code, 0, shownByAlice.stderr);
    assert.equal(JSON.parse(shownByAlice.stdout).web_number, shown1.web_number);
    const reads = await inquiry(temp.data, 'identity.read');
    assert.deepEqual(reads.map((e) => [e.actor, e.subject]),
      [['operator', shown1.web_number], ['operator:alice', shown1.web_number]]);
    for (const read of reads) assert.deepEqual(read.details, { fields: ['status', 'devices'] });

    // The operator finds an identity by ID number only with a legal basis,
    // and the lookup is an event on that identity (the number is not in it).
    const basis = 'Public Security Law art. 3, case 2026-17';
    const found = await run(['identity', 'find', '--data', temp.data, '--national-id', adult.id,
      '--legal-basis', basis, '--actor', 'bob']);
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(JSON.parse(found.stdout), { found: true, web_number: shown1.web_number, status: 'active' });
    const stranger = nationalId('110105', '1970-01-01', '011');
    const notFound = await run(['identity', 'find', '--data', temp.data, '--national-id', stranger,
      '--legal-basis', basis]);
    assert.equal(notFound.code, 0, notFound.stderr);
    assert.deepEqual(JSON.parse(notFound.stdout), { found: false });
    const finds = await inquiry(temp.data, 'identity.find');
    assert.deepEqual(finds.map((e) => [e.actor, e.subject, e.details]), [
      ['operator:bob', shown1.web_number, { by: 'national_id', legal_basis: basis, found: true }],
      ['operator', 'registry', { by: 'national_id', legal_basis: basis, found: false }],
    ]);
    for (const event of finds) assert.ok(!JSON.stringify(event).includes(adult.id) && !JSON.stringify(event).includes(stranger));
    for (const [args, message] of [
      [['--national-id', adult.id], /find needs --legal-basis TEXT/],
      [['--legal-basis', basis], /find needs --national-id N/],
      [['--national-id', '110105198005040310', '--legal-basis', basis], /not a valid ID number/],
    ]) {
      const refused = await run(['identity', 'find', '--data', temp.data, ...args]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, message);
    }

    // The C validator (web_number.c, behind `identity show`) agrees with
    // the one here: numbers made here are valid (unknown: exit 1), every
    // one-symbol change or adjacent swap of them and of the real one is
    // refused as not a web number (exit 2), and none of it is audited.
    const madeHere = [withCheck('000000000000000'), withCheck('ZZZZZZZZZZZZZZZ'),
      ...Array.from({ length: 2 }, () => withCheck(Array.from({ length: 15 }, () => CROCKFORD[randomInt(32)]).join('')))];
    await Promise.all(madeHere.map(async (number) => {
      assert.ok(webNumberValid(number));
      const unknown = await run(['identity', 'show', '--data', temp.data, number]);
      assert.equal(unknown.code, 1, `${number}: ${unknown.stderr}`);
      assert.match(unknown.stderr, /no identity/);
    }));
    const pick = (list) => (list.length ? [list[randomInt(list.length)]] : []);
    const errors = [shown1.web_number, ...madeHere].flatMap((number) => {
      const { changes, swaps } = webNumberErrors(number);
      return [...pick(changes), ...pick(swaps)];
    });
    await Promise.all(errors.map(async (error) => {
      assert.ok(!webNumberValid(error));
      const invalid = await run(['identity', 'show', '--data', temp.data, error]);
      assert.equal(invalid.code, 2, `${error} is refused as not a web number: ${invalid.stderr}`);
      assert.match(invalid.stderr, /not a valid web number/);
    }));
    assert.equal((await sql(temp.data, "SELECT COUNT(*) AS n FROM audit_event WHERE action = 'identity.read'"))[0].n, 2);

    // The service's checks of the device token behind /v1/me/devices.
    await checkDeviceTokens(url, { ...shown2, wallet: wallet2 });

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
    assert.equal((await ocspStatusByGet(temp.dir, url, cert1)).status, 'revoked');
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

    // The CRL is built once and served as it is until a revocation: two
    // requests get the same bytes, number and all.
    const crlBefore = Buffer.from(await (await fetch(`${url}/crl`)).arrayBuffer());
    const crlAgain = Buffer.from(await (await fetch(`${url}/crl`)).arrayBuffer());
    assert.ok(crlBefore.equals(crlAgain), 'an unchanged CRL is served from the store');
    await writeFile(path.join(temp.dir, 'crl-before.der'), crlBefore);
    const numberBefore = crlNumber((await openssl(['crl', '-inform', 'DER', '-in',
      path.join(temp.dir, 'crl-before.der'), '-noout', '-text'])).stdout);

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
    assert.ok(crlNumber(crl.stdout) > numberBefore, 'a revocation makes a CRL with a higher number');
    const crlVerify = await openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout',
      '-CAfile', path.join(temp.dir, 'ca.pem')]);
    assert.equal(crlVerify.code, 0, crlVerify.stderr);
    assert.match(crlVerify.stderr + crlVerify.stdout, /verify OK/);
    assert.equal((await app(['--wallet', wallet2, 'devices'])).code, 1);
    const notActive = await appEnroll(url, path.join(temp.dir, 'wallet4.json'), adult, photos);
    assert.equal(notActive.code, 1);
    assert.match(notActive.stderr, /enrollment refused: identity_not_active/);

    // A copy of the database after enrollments (the SQLite files, WAL
    // included; pg_dump of every PostgreSQL node) holds no name, no ID
    // number and no birth date in any readable form: only sealed records,
    // blind indexes, web numbers and certificates naming them.
    const copy = await databaseCopy(temp.data);
    assert.ok(copy.includes(Buffer.from('registry_person')), 'the copy is a copy of the database');
    for (const secret of [adult.name, adult.id, adult.birth, adult.id.slice(6, 14)]) {
      assert.equal(containsSecret(copy, secret), false,
        'a copy of the database must not hold a plaintext personal value');
    }
    // Nor any face descriptor: not the registry photo's (sealed in the
    // record), and not those of the selfie or the turn frames (images are
    // never stored, their descriptors neither).
    const images = {
      'the registry photo': path.join(faces, adult.photo),
      'the selfie': photos.files.selfie,
      'the turn_right frame': photos.files.right,
      'the turn_left frame': photos.files.left,
    };
    const descriptors = Object.fromEntries(await Promise.all(Object.entries(images)
      .map(async ([what, image]) => [what, await descriptorBytes(image)])));
    // (The search finds a window at any offset: a planted one is found.)
    const planted = Buffer.concat([randomBytes(1001), descriptors['the selfie'].subarray(37, 53), randomBytes(7)]);
    // (The byte before the window is not the descriptor's byte 36, or the
    // search would rightly find the window one byte earlier: 1 run in 256.)
    planted[1000] = descriptors['the selfie'][36] ^ 0xff;
    assert.deepEqual(findAnyWindow(planted, descriptors['the selfie']), { at: 1001, from: 37 });
    for (const [what, descriptor] of Object.entries(descriptors)) {
      assertNoDescriptor(copy, descriptor, `the database, ${what}`);
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
  // Every record but e has the applicant's face (the photos' person); e's
  // photo is another person's.
  const a = { ...adult };
  const b = { id: nationalId('440524', '1975-11-30', '012'), name: '张敏', birth: '1975-11-30', photo: 'img62.jpg' };
  const c = { id: nationalId('310104', '1990-02-28', '047'), name: 'Li Na', birth: '1990-02-28', photo: 'img62.jpg' };
  const d = { id: nationalId('320102', '1988-08-08', '055'), name: '陈静', birth: '1988-08-08', photo: 'img62.jpg' };
  const e = { id: nationalId('320102', '1979-03-03', '066'), name: '周杰', birth: '1979-03-03', photo: 'img35.jpg' };
  const minor = { id: nationalId('110105', '2016-07-01', '022'), name: '小红', birth: '2016-07-01', photo: 'img62.jpg' };
  const stranger = { id: nationalId('110105', '1985-01-01', '019'), name: 'Nobody', birth: '1985-01-01' };
  try {
    await importRegistry(temp, [a, b, c, d, e, minor]);
    const photos = await preparePhotos(temp.dir);
    // A phone per attempt: one device key gets 5 attempts before it must
    // wait (ENROLL_FREE_PER_DEVICE_KEY), and this test is not about that.
    const phones = await Promise.all([...Array(12).keys()].map((i) => makeDeviceKey(temp.dir, `phone${i}`)));
    let used = 0;
    const device = phones[0];
    const p384 = await makeDeviceKey(temp.dir, 'p384', 'P-384');
    // The janitor once at the start only: the challenge expired below
    // must not be purged in the middle of a row count.
    server = await startServer(temp.data, ['--janitor-interval', '3600']);
    const url = server.url;
    const enroll = (person, change, given) => enrollRequest(url, person, photos, phones[used++ % phones.length], change, given);

    expectError(await enroll({ ...a, id: wrongCheck(a.id) }), 400, 'invalid_national_id');
    // A number nobody has and a face that is not the record's get one
    // answer; what the record says (name, age) is told only once the face
    // is the record's.
    expectError(await enroll(stranger), 403, 'identity_not_verified');
    expectError(await enroll(e), 403, 'identity_not_verified');
    expectError(await enroll(minor), 403, 'guardian_required');

    // c: a wrong name, then the same challenge again.
    const wrongName = await enroll({ ...c, name: 'Li Nb' });
    expectError(wrongName, 400, 'name_mismatch');
    expectError(await enroll(c, () => {}, wrongName.challenge), 400, 'invalid_challenge');
    expectError(await enroll(c, (body) => { body.challenge_id = 'no-such-challenge'; }), 400, 'invalid_challenge');
    // An expired challenge (moved past its expiry in the database).
    const stale = await challenge(url);
    const changes = await execute(temp.data, 'UPDATE enroll_challenge' +
      ` SET expires_at = ${Math.floor(Date.now() / 1000) - 1} WHERE id = ${sqlText(stale.challenge_id)}`);
    assert.equal(changes, 1);
    expectError(await enroll(c, () => {}, stale), 400, 'invalid_challenge');
    expectError(await enroll(c, (body) => { delete body.csr; }), 400, 'invalid_request');

    // a: the selfie's own checks.
    const noFaceSelfie = await enroll(a, (body) => { body.selfie = photos.bytes.noFace.toString('base64'); });
    expectError(noFaceSelfie, 400, 'no_face');
    assert.match(noFaceSelfie.body.error_description, /selfie/);
    const coupleSelfie = await enroll(a, (body) => { body.selfie = photos.bytes.couple.toString('base64'); });
    expectError(coupleSelfie, 400, 'multiple_faces');
    assert.match(coupleSelfie.body.error_description, /selfie/);

    // d: the turn frame with no face, two faces, another person (frontal).
    const noFaceTurn = await enroll(d, (body) => { body.turn_frame = photos.bytes.noFace.toString('base64'); });
    expectError(noFaceTurn, 400, 'no_face');
    assert.match(noFaceTurn.body.error_description, /turn frame/);
    const coupleTurn = await enroll(d, (body) => { body.turn_frame = photos.bytes.couple.toString('base64'); });
    expectError(coupleTurn, 400, 'multiple_faces');
    assert.match(coupleTurn.body.error_description, /turn frame/);
    // ... and this one, from a challenge taken first, writes nothing but
    // its attempt limits and its audit event (not yet enrolled: under
    // "enrollment").
    const otherTurnChallenge = await challenge(url);
    const otherTurn = await refusedWritingNothing(temp.data, () => enroll(d, (body) => {
      body.turn_frame = photos.bytes.other.toString('base64');
    }, otherTurnChallenge));
    expectError(otherTurn.result, 403, 'liveness_failed');
    assert.match(otherTurn.result.body.error_description, /same person/);
    assert.match(otherTurn.event.subject, /^registry:[0-9a-f]{32}$/);

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

    // The service still answers, and the refusals wrote nothing: no
    // identity, no device, no certificate; every refusal is one audit
    // event with its reason code only: the operator's and the citizen's
    // record says why a verification failed, where the answer would not.
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ok');
    const counts = async () => (await sql(temp.data,
      'SELECT (SELECT COUNT(*) FROM identity) AS identities, (SELECT COUNT(*) FROM device) AS devices'))[0];
    assert.deepEqual(await counts(), { identities: 0, devices: 0 });
    const refusals = await inquiry(temp.data, 'enroll.refused');
    assert.deepEqual(refusals.map((event) => event.details.reason), ['invalid_national_id', 'unknown_identity',
      'face_mismatch', 'guardian_required', 'name_mismatch', 'invalid_challenge', 'invalid_challenge', 'invalid_challenge',
      'invalid_request', 'no_face', 'multiple_faces', 'no_face', 'multiple_faces',
      'liveness_failed', 'liveness_failed', 'invalid_csr', 'unsupported_key', 'invalid_nonce_signature']);
    // Under "enrollment" when no record was named (or not yet looked
    // up), else under the record's random id (it has no web number yet).
    const underRecord = new Set(['face_mismatch', 'guardian_required', 'name_mismatch', 'no_face',
      'multiple_faces', 'liveness_failed']);
    // Under a record, the event is that person's, so sealed.
    for (const event of refusals) {
      const { reason } = event.details;
      assert.deepEqual(Object.keys(event.details), ['reason']);
      assert.equal(event.actor, 'applicant');
      assert.match(event.subject, underRecord.has(reason) ? /^registry:[0-9a-f]{32}$/ : /^enrollment$/, reason);
      assert.equal(event.sealed, underRecord.has(reason), reason);
    }

    // a's identity is created by its first successful enrollment, with one
    // device; the identity and device rows are exactly the successes'.
    const wallet = path.join(temp.dir, 'wallet.json');
    const enrolled = await appEnroll(url, wallet, a, photos);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.equal(JSON.parse(enrolled.stdout).reenrolled, false);
    assert.equal((await devices(wallet)).devices.length, 1);
    assert.deepEqual(await counts(), { identities: 1, devices: 1 });

    // A refused re-enrollment of an enrolled person adds no device and no
    // certificate either; its audit event is under the web number, so the
    // citizen sees it in their history.
    const aWebNumber = (await show(wallet)).web_number;
    const againChallenge = await challenge(url);
    const refusedAgain = await refusedWritingNothing(temp.data, () => enroll(a, (body) => {
      body.selfie = photos.bytes.other.toString('base64');
    }, againChallenge));
    expectError(refusedAgain.result, 403, 'liveness_failed');
    assert.equal(refusedAgain.event.subject, aWebNumber);
    assert.deepEqual(await counts(), { identities: 1, devices: 1 });

    // The app reports a refusal by its code.
    const refused = await app(['--server', url, '--wallet', path.join(temp.dir, 'refused.json'), 'enroll',
      '--id', e.id, '--name', e.name, '--selfie', photos.files.selfie,
      '--turn-left', photos.files.left, '--turn-right', photos.files.right]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /enrollment refused: identity_not_verified: /);
    await assert.rejects(stat(path.join(temp.dir, 'refused.json')), 'no wallet after a refusal');
    assert.deepEqual(await counts(), { identities: 1, devices: 1 });

    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0, 'cyberid serve exits 0 on SIGTERM');
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});

