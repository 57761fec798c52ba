// What a hostile client can and cannot do to enrollment (docs/api.md,
// "POST /v1/enroll"): learn whether an ID number is in the registry, or
// what the record says, before passing the face check for it (it cannot:
// same answers for the same images); keep a citizen from enrolling by
// trying their number (it cannot: the limits follow the attempts' device
// key, address and network, with waits that double, never the number);
// flood the audit log from one address (it cannot: the address's own
// refusals come first and are not audited).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { initDataDir, startServer, sql, inquiry, sanitized } from './lib/harness.mjs';
import {
  nationalId, importRegistry, preparePhotos, appEnroll, makeDeviceKey, enrollRequest, expectError,
  postFrom,
} from './lib/citizen.mjs';

// Under the sanitizers a face check takes seconds: the first two cases
// (a dozen face checks each, over three minutes together) run in the release build
// only, on every backend; the gate and the limits they go through are
// taken under the sanitizers by the last two cases and integration_enroll.
const releaseOnly = sanitized && 'release build only: its C paths run under the sanitizers in the cases below';
// The registry's adult: photo img62 is the photos' person (lib/citizen.mjs).
const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };

test('a stranger learns nothing about the registry before passing the face check for the record', { skip: releaseOnly }, async () => {
  const temp = await initDataDir('enroll-oracle');
  let server;
  // known: in the registry, another person's face; minor: in the registry,
  // under 14, another person's face; unknown: a valid number nobody has.
  const known = { id: nationalId('440524', '1975-11-30', '012'), name: '张敏', birth: '1975-11-30', photo: 'img35.jpg' };
  const minor = { id: nationalId('110105', '2016-07-01', '022'), name: '小红', birth: '2016-07-01', photo: 'img35.jpg' };
  const unknown = { id: nationalId('110105', '1985-01-01', '019'), name: 'Nobody', birth: '1985-01-01' };
  try {
    await importRegistry(temp, [known, minor]);
    const photos = await preparePhotos(temp.dir);
    const phones = await Promise.all([...Array(13).keys()].map((i) => makeDeviceKey(temp.dir, `phone${i}`)));
    let used = 0;
    server = await startServer(temp.data);
    const answer = async (person, change) => {
      const result = await enrollRequest(server.url, person, photos, phones[used++], change);
      return { status: result.status, body: result.body };
    };
    // The same images give the same answer whatever the number names: a
    // real record with the right or a wrong name, a minor's, or none.
    const cases = {
      'a real face': () => {},
      'no face': (body) => { body.selfie = photos.bytes.noFace.toString('base64'); },
      'a turn frame of someone else': (body) => { body.turn_frame = photos.bytes.other.toString('base64'); },
    };
    for (const [what, change] of Object.entries(cases)) {
      const answers = [
        await answer(known, change),
        await answer({ ...known, name: 'Wrong Name' }, change),
        await answer(minor, change),
        await answer(unknown, change),
      ];
      for (const other of answers.slice(1)) assert.deepEqual(other, answers[0], `${what}: ${JSON.stringify(answers)}`);
      assert.equal(answers[0].status >= 400, true);
    }
    assert.equal((await answer(unknown, () => {})).body.error, 'identity_not_verified');
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0);
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});

test('junk attempts on a citizen\'s ID number do not keep the citizen from enrolling', { skip: releaseOnly }, async () => {
  const temp = await initDataDir('enroll-victim');
  let server;
  try {
    await importRegistry(temp, [adult]);
    const photos = await preparePhotos(temp.dir);
    server = await startServer(temp.data);
    // An attacker who knows the number: 8 attempts (more than a limit per
    // number ever allowed) with other faces, a new device key each, from
    // one address. None is let through, none blocks the number.
    for (let i = 0; i < 8; i++) {
      const attacker = await makeDeviceKey(temp.dir, `attacker${i}`);
      const result = await enrollRequest(server.url, adult, photos, attacker, (body) => {
        body.selfie = photos.bytes.other.toString('base64');
        body.turn_frame = photos.bytes.other.toString('base64');
      });
      assert.equal(result.status, 403, result.text);
    }
    // The citizen, from their own phone, right after.
    const wallet = path.join(temp.dir, 'w.json');
    const enrolled = await appEnroll(server.url, wallet, adult, photos);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    // What was tried on their number is recorded under their registry
    // record (they had no web number yet), the record their identity now
    // points to: all 8, with their reasons.
    const refused = await inquiry(temp.data, 'enroll.refused');
    assert.equal(refused.length, 8);
    const [{ person_id: record }] = await sql(temp.data, 'SELECT person_id FROM identity_person');
    for (const event of refused) {
      assert.equal(event.subject, `registry:${record}`);
      assert.deepEqual(event.details, { reason: 'liveness_failed' });
    }
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0);
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});

test('one device key gets 5 attempts, then waits that double; other keys are not held up', async () => {
  const temp = await initDataDir('enroll-device-limit');
  let server;
  try {
    await importRegistry(temp, [adult]);
    const photos = await preparePhotos(temp.dir);
    const device = await makeDeviceKey(temp.dir, 'p256');
    server = await startServer(temp.data);
    const wrongFace = (body) => { body.selfie = photos.bytes.other.toString('base64'); };
    let fifth = 0;
    for (let i = 0; i < 5; i++) {
      fifth = Date.now();
      expectError(await enrollRequest(server.url, adult, photos, device, wrongFace), 403, 'liveness_failed');
    }
    const limited = await enrollRequest(server.url, adult, photos, device, wrongFace);
    expectError(limited, 429, 'too_many_attempts');
    assert.match(limited.body.error_description, /with this device key/);
    // The fifth attempt, let through, set the first wait: 60 seconds
    // (ENROLL_WAIT_PER_DEVICE_KEY) from when it was taken.
    const wait = Number(limited.headers.get('retry-after'));
    const since = Math.ceil((Date.now() - fifth) / 1000);
    assert.ok(wait <= 60 && wait >= 60 - since - 1, `Retry-After ${wait}, ${since} s after the fifth`);
    // Even a correct enrollment with that key waits, and the refusal is in
    // the audit log (it came with a verified key, unlike the address's).
    expectError(await enrollRequest(server.url, adult, photos, device), 429, 'too_many_attempts');
    const last = (await inquiry(temp.data, 'enroll.refused')).pop();
    assert.deepEqual(last.details, { reason: 'too_many_attempts' });
    // Another phone, same address, same number: let through.
    const wallet = path.join(temp.dir, 'w.json');
    const app200 = await appEnroll(server.url, wallet, adult, photos);
    assert.equal(app200.code, 0, app200.stderr);
    // The store keeps the limits by blind index: no key, no address in it.
    const rows = await sql(temp.data, 'SELECT limit_key FROM attempt_limit');
    assert.ok(rows.length >= 3);
    const stored = JSON.stringify(rows);
    assert.ok(!stored.includes('127.0.0.1'));
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0);
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});

test('one client address gets 60 attempts, then waits that double; its refusals are not audited', async () => {
  // Its own data folder and server: the limit must not disturb the others.
  // Each attempt is refused at its CSR ('x'), after the address's limit.
  const temp = await initDataDir('enroll-address');
  let server;
  try {
    server = await startServer(temp.data);
    const attempt = async (from, i) => {
      const c = (await postFrom(from, `${server.url}/v1/enroll/challenge`, {})).body;
      return postFrom(from, `${server.url}/v1/enroll`, {
        challenge_id: c.challenge_id,
        national_id: nationalId('110105', '1980-01-01', String(i).padStart(3, '0')),
        name: 'Nobody', csr: 'x', selfie: 'x', turn_frame: 'x', nonce_signature: 'x',
      });
    };
    const ADDRESS_FREE = 60; // ENROLL_FREE_PER_ADDRESS, src/enroll/enroll.h
    const ADDRESS_WAIT = 10; // ENROLL_WAIT_PER_ADDRESS
    for (let i = 0; i < ADDRESS_FREE; i++) {
      const result = await attempt('127.0.0.1', i);
      assert.equal(result.status, 400, `attempt ${i + 1}: ${result.text}`);
      assert.equal(result.body.error, 'invalid_csr');
    }
    const limited = await attempt('127.0.0.1', ADDRESS_FREE);
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.body.error, 'too_many_attempts');
    assert.match(limited.body.error_description, /from this address/);
    const wait = Number(limited.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= ADDRESS_WAIT, `Retry-After ${wait}`);
    // The limit is the address's: another loopback address is let through.
    const elsewhere = await attempt('127.0.0.2', ADDRESS_FREE + 1);
    assert.equal(elsewhere.status, 400, elsewhere.text);
    assert.equal((await attempt('127.0.0.1', ADDRESS_FREE + 2)).status, 429);
    // Retry-After tells the truth: after it, one attempt is let through,
    // and the next waits twice as long.
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 1100));
    assert.equal((await attempt('127.0.0.1', ADDRESS_FREE + 3)).status, 400);
    const doubled = await attempt('127.0.0.1', ADDRESS_FREE + 4);
    assert.equal(doubled.status, 429);
    assert.ok(Number(doubled.headers['retry-after']) > ADDRESS_WAIT, doubled.headers['retry-after']);
    // Every attempt let through was audited with its reason; the address
    // limit's own refusals are not. Nothing else was written.
    const counts = () => sql(temp.data, 'SELECT (SELECT COUNT(*) FROM identity) AS identities,' +
      ' (SELECT COUNT(*) FROM device) AS devices,' +
      " (SELECT COUNT(*) FROM audit_event WHERE action = 'enroll.refused') AS refused");
    const [row] = await counts();
    assert.deepEqual(row, { identities: 0, devices: 0, refused: ADDRESS_FREE + 2 });
    // Malformed requests count against the address too, so one address
    // cannot flood the audit log: of 70 empty bodies, 60 are audited
    // (invalid_request) and the last 10 are 429 and not audited.
    const statuses = [];
    for (let i = 0; i < ADDRESS_FREE + 10; i++) statuses.push((await postFrom('127.0.0.3', `${server.url}/v1/enroll`, {})).status);
    assert.deepEqual(statuses, [...Array(ADDRESS_FREE).fill(400), ...Array(10).fill(429)]);
    const [flooded] = await counts();
    assert.equal(flooded.refused, row.refused + ADDRESS_FREE);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0);
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});
