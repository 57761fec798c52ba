// What the operator sees (docs/ops/README.md): /metrics counts enrollment
// refusals by their public code, face-check failures, logins by step and
// result, requests turned away by each limit and the signer's operations;
// the access log names method, request id (also the answer's
// X-Request-Id) and, on a 4xx, the platform. Nothing in either says more
// than the public answers: an unknown ID number and a wrong face are the
// same identity_not_verified there too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { initDataDir, startServer } from './lib/harness.mjs';
import {
  nationalId, importRegistry, preparePhotos, enrollCitizen, makeDeviceKey, enrollRequest, expectError,
} from './lib/citizen.mjs';
import {
  addPlatform, discover, loginChecks, authorizationUrl, shownUserCode, pageLoginId, pollDecided, appLogin,
  basicAuth,
} from './lib/oidc.mjs';

const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };
const stranger = { id: nationalId('110105', '1985-01-01', '019'), name: 'Nobody', birth: '1985-01-01' };

/** The /metrics exposition as {"name{label=\"v\"}": number}. */
async function scrape(url) {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const values = {};
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\d+(?:\.\d+)?)$/.exec(line);
    if (match) values[match[1]] = Number(match[2]);
  }
  return { text, values };
}

const delta = (before, after, series) => (after.values[series] ?? NaN) - (before.values[series] ?? 0);

test('/metrics counts refusals, face checks, logins, limits and signer operations; the access log names the request', async () => {
  const temp = await initDataDir('metrics');
  await importRegistry(temp, [adult]);
  const photos = await preparePhotos(temp.dir);
  const platform = await addPlatform(temp.data, temp.dir, {
    name: 'Metered Shop', redirectUris: ['http://127.0.0.1:8405/cb'], claims: 'realname_verified',
  });
  const server = await startServer(temp.data, ['--challenges-per-address', '1']);
  try {
    const start = await scrape(server.url);
    // Every series is there from the start, at zero.
    for (const series of ['cyberid_enroll_refusals_total{reason="identity_not_verified"}',
      'cyberid_logins_total{result="approved"}', 'cyberid_rate_limited_total{limit="body_budget"}',
      'cyberid_signer_operations_total{operation="sign_id_token",result="refused"}',
      'cyberid_signer_operations_total{operation="sign_id_token_pairwise",result="done"}',
      'cyberid_signer_restarts_total']) {
      assert.equal(start.values[series], 0, series);
    }

    // A stranger's number with the adult's face, and the adult's number
    // with nobody's face: one public answer, one series.
    const phone = await makeDeviceKey(temp.dir, 'phone');
    const unknown = await enrollRequest(server.url, stranger, photos, phone);
    expectError(unknown, 403, 'identity_not_verified');
    const noFace = await enrollRequest(server.url, adult, photos, await makeDeviceKey(temp.dir, 'phone2'),
      (body) => { body.selfie = photos.bytes.noFace.toString('base64'); });
    expectError(noFace, 400, 'no_face');
    const refused = await scrape(server.url);
    assert.equal(delta(start, refused, 'cyberid_enroll_refusals_total{reason="identity_not_verified"}'), 1);
    assert.equal(delta(start, refused, 'cyberid_face_check_failures_total{check="identity_not_verified"}'), 1);
    assert.equal(delta(start, refused, 'cyberid_enroll_refusals_total{reason="no_face"}'), 1);
    assert.equal(delta(start, refused, 'cyberid_face_check_failures_total{check="no_face"}'), 1);
    for (const secret of ['unknown_identity', 'face_mismatch', 'no_reference_photo', stranger.id, adult.id]) {
      assert.ok(!refused.text.includes(secret), `/metrics says nothing of ${secret}`);
    }

    // A login from page to tokens.
    const citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), adult, photos);
    const config = await discover(server.url, platform);
    const checks = await loginChecks();
    const page = await fetch(authorizationUrl(config, platform, checks, 'openid realname_verified'));
    const html = await page.text();
    assert.equal(page.status, 200, html);
    const approval = await appLogin(citizen.wallet, shownUserCode(html), '--approve');
    assert.equal(approval.code, 0, approval.stderr);
    const decided = await pollDecided(server.url, pageLoginId(html));
    await client.authorizationCodeGrant(config, new URL(decided.redirect_to), {
      pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true,
    });
    const loggedIn = await scrape(server.url);
    for (const result of ['started', 'approved', 'code_redeemed']) {
      assert.equal(delta(refused, loggedIn, `cyberid_logins_total{result="${result}"}`), 1, result);
    }
    assert.equal(delta(refused, loggedIn, 'cyberid_logins_total{result="denied"}'), 0);
    // Counted by the signer process itself.
    assert.ok(delta(start, loggedIn, 'cyberid_signer_operations_total{operation="sign_id_token_pairwise",result="done"}') >= 1);
    assert.ok(delta(start, loggedIn, 'cyberid_signer_operations_total{operation="issue_certificate",result="done"}') >= 1,
      'the web certificate');
    assert.ok(delta(start, loggedIn, 'cyberid_signer_operations_total{operation="hmac",result="done"}') >= 2);
    assert.ok(delta(start, loggedIn, 'cyberid_signer_operations_total{operation="open_record",result="done"}') >= 1);

    // The challenges limit: a minute's worth (60) at once, then 429s.
    let limited = 0;
    for (let i = 0; i < 70; i++) {
      const response = await fetch(`${server.url}/v1/enroll/challenge`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
      });
      await response.arrayBuffer();
      if (response.status === 429) limited++;
    }
    assert.ok(limited >= 1);
    const after = await scrape(server.url);
    assert.equal(delta(loggedIn, after, 'cyberid_rate_limited_total{limit="challenges_per_address"}'), limited);

    // A platform's failed code exchange: 400, the request id in the
    // answer and in the log line with method, route and the platform.
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(platform) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'nope', redirect_uri: platform.redirectUri,
        code_verifier: checks.verifier }),
    });
    assert.equal(response.status, 400);
    const requestId = response.headers.get('x-request-id');
    assert.match(requestId, /^[0-9a-f]{16}$/);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the log line follows the answer
    const line = server.logs.map((text) => { try { return JSON.parse(text); } catch { return null; } })
      .find((entry) => entry && entry.event === 'request' && entry.request_id === requestId);
    assert.ok(line, `a request log line with request_id ${requestId}`);
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/token');
    assert.equal(line.status, 400);
    assert.equal(line.client_id, platform.client_id);
    // A 200 names no platform.
    const ok = server.logs.map((text) => { try { return JSON.parse(text); } catch { return null; } })
      .filter((entry) => entry && entry.event === 'request' && entry.route === '/token' && entry.status === 200);
    assert.ok(ok.length >= 1);
    assert.equal(ok[0].client_id, undefined);
    assert.notEqual(ok[0].request_id, requestId);

    // The operator's alert rules and dashboard (docs/ops/) name only
    // metrics this service exposes.
    const exposed = new Set(Object.keys((await scrape(server.url)).values).map((series) => series.replace(/\{.*$/, '')));
    const ops = fileURLToPath(new URL('../../docs/ops/', import.meta.url));
    for (const file of ['alerts.yml', 'dashboard.json']) {
      const names = new Set((await readFile(path.join(ops, file), 'utf8')).match(/\bcyberid_[a-z_]+/g));
      assert.ok(names.size >= 5, file);
      for (const name of names) assert.ok(exposed.has(name), `${file} names ${name}, which /metrics does not expose`);
    }
  } finally {
    await server.stop();
    await temp.cleanup();
  }
});
