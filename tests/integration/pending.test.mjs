// What anonymous requests may leave pending in the database (docs/api.md,
// "Limits"): GET /authorize stores a pending login and POST
// /v1/enroll/challenge a challenge for anyone who asks. Per client address
// and per platform, a node starts only so many (token buckets: a minute's
// worth at once, then the rate); past them nothing is stored. Over all
// nodes, the janitor holds the pending rows under a ceiling, the oldest
// dropped first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { initDataDir, startServer, sql, backend, spendLimit } from './lib/harness.mjs';
import { postFrom } from './lib/citizen.mjs';
import { addPlatform, pageLoginId, pollOnce } from './lib/oidc.mjs';

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'; // any S256 value

/** GET with node:http from a chosen local address, redirects not
 * followed. Resolves {status, headers, text}. */
function getFrom(localAddress, url) {
  return new Promise((resolve, reject) => {
    http.get(url, { localAddress }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers,
        text: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}

function authorizeUrl(server, platform, state) {
  const query = new URLSearchParams({
    response_type: 'code', client_id: platform.client_id, redirect_uri: platform.redirectUri,
    scope: 'openid', state, nonce: `n-${state}`, code_challenge: CHALLENGE, code_challenge_method: 'S256',
  });
  return `${server.url}/authorize?${query}`;
}

const pendingLogins = async (data) =>
  (await sql(data, "SELECT COUNT(*) AS n FROM oidc_login WHERE status = 'pending'"))[0].n;

test('a client address gets a minute of challenges at once, then 429 with Retry-After', async () => {
  const temp = await initDataDir('pending-challenges');
  const server = await startServer(temp.data, ['--challenges-per-address', '1']);
  try {
    const { accepted, refused: limited } = await spendLimit(
      () => postFrom('127.0.0.1', `${server.url}/v1/enroll/challenge`, {}), 201, 60, 'challenges');
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.body.error, 'too_many_requests');
    assert.equal(limited.headers['retry-after'], '1');
    assert.equal((await postFrom('127.0.0.2', `${server.url}/v1/enroll/challenge`, {})).status, 201);
    // A second later, one more.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await postFrom('127.0.0.1', `${server.url}/v1/enroll/challenge`, {})).status, 201);
    const [{ n }] = await sql(temp.data, 'SELECT COUNT(*) AS n FROM enroll_challenge');
    assert.equal(n, accepted + 2, 'the refused request stored nothing');
  } finally {
    await server.stop();
    await temp.cleanup();
  }
});

test('/authorize starts a minute of logins per address, and per platform, then sends the browser back', async () => {
  const temp = await initDataDir('pending-authorize');
  const shop = await addPlatform(temp.data, temp.dir, { name: 'Shop', redirectUris: ['https://shop.example/cb'] });
  const bank = await addPlatform(temp.data, temp.dir, { name: 'Bank', redirectUris: ['https://bank.example/cb'] });
  let server = await startServer(temp.data, ['--authorize-per-address', '1', '--authorize-per-platform', '0']);
  try {
    const { accepted, refused: limited } = await spendLimit(
      (i) => getFrom('127.0.0.1', authorizeUrl(server, shop, i < 60 ? `s${i}` : 'over')), 200, 60, 'logins');
    assert.equal(limited.status, 302);
    const back = new URL(limited.headers.location);
    assert.equal(`${back.origin}${back.pathname}`, shop.redirectUri);
    assert.equal(back.searchParams.get('error'), 'temporarily_unavailable');
    assert.match(back.searchParams.get('error_description'), /this address/);
    assert.equal(back.searchParams.get('state'), 'over');
    assert.equal(back.searchParams.get('iss'), server.url);
    assert.equal(await pendingLogins(temp.data), accepted, 'the refused request stored nothing');
    // Another address is let through, for either platform.
    assert.equal((await getFrom('127.0.0.2', authorizeUrl(server, shop, 'x'))).status, 200);
    assert.equal((await getFrom('127.0.0.2', authorizeUrl(server, bank, 'y'))).status, 200);
    await server.stop();

    // Per platform: from any address, the platform's allowance is spent;
    // another platform's is its own.
    server = await startServer(temp.data, ['--authorize-per-address', '0', '--authorize-per-platform', '1']);
    const { refused: spent } = await spendLimit(
      (i) => getFrom(i % 2 ? '127.0.0.3' : '127.0.0.4', authorizeUrl(server, shop, `p${i}`)), 200, 60,
      'logins of the platform');
    assert.equal(spent.status, 302);
    const spentBack = new URL(spent.headers.location);
    assert.equal(spentBack.searchParams.get('error'), 'temporarily_unavailable');
    assert.match(spentBack.searchParams.get('error_description'), /this site/);
    assert.equal((await getFrom('127.0.0.5', authorizeUrl(server, bank, 'own'))).status, 200);
  } finally {
    await server.stop();
    await temp.cleanup();
  }
});

test('past the pending ceiling the janitor drops the oldest pending logins first', async () => {
  const temp = await initDataDir('pending-ceiling');
  const shop = await addPlatform(temp.data, temp.dir, { name: 'Shop', redirectUris: ['https://shop.example/cb'] });
  const server = await startServer(temp.data, ['--authorize-per-address', '0', '--pending-ceiling', '10',
    '--janitor-interval', '1']);
  try {
    // Fifteen, then (a second later: the age is counted in seconds) ten.
    const ids = [];
    for (let i = 0; i < 25; i++) {
      if (i === 15) await new Promise((resolve) => setTimeout(resolve, 1100));
      const page = await getFrom('127.0.0.1', authorizeUrl(server, shop, `c${i}`));
      assert.equal(page.status, 200);
      ids.push(pageLoginId(page.text));
    }
    for (let i = 0; i < 50 && await pendingLogins(temp.data) > 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await pendingLogins(temp.data), 10);
    // The newest ten are still pending; the first fifteen are gone.
    assert.equal((await pollOnce(server.url, ids[24])).body.status, 'pending');
    assert.equal((await pollOnce(server.url, ids[15])).body.status, 'pending');
    assert.equal((await pollOnce(server.url, ids[14])).status, 404);
    assert.equal((await pollOnce(server.url, ids[0])).status, 404);
    // Their user codes went with them: on PostgreSQL and Citus the lookup
    // rows that find a login's shard; on SQLite a login row holds its own
    // (store_oidc_login_insert), and the lookup table stays empty.
    const [{ n: codes }] = await sql(temp.data, 'SELECT COUNT(*) AS n FROM oidc_user_code');
    const [{ n: logins }] = await sql(temp.data, 'SELECT COUNT(*) AS n FROM oidc_login');
    assert.equal(Number(codes), backend === 'sqlite' ? 0 : 10);
    assert.equal(Number(logins), 10);
    const warned = server.logs.map((line) => { try { return JSON.parse(line); } catch { return {}; } })
      .filter((entry) => entry.event === 'pending_ceiling_reached');
    assert.ok(warned.length >= 1, 'the operator is told');
    assert.equal(warned.reduce((sum, entry) => sum + entry.logins_dropped, 0), 15);
  } finally {
    await server.stop();
    await temp.cleanup();
  }
});
