// What the service acknowledged is there after a kill -9 (docs/api.md,
// "Login"; issue 14: durability is not traded for speed): logins run from
// several loops at once, each answer the service gave is recorded, the
// service is killed with SIGKILL in the middle of them and started again
// on the same port (the same issuer). Then every approval it acknowledged
// still gives its code, every code it handed out still exchanges for
// tokens, and every token pair it answered is live (introspection) and
// refreshes. Requests that were in flight at the kill are not counted:
// their answers never came.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { initDataDir, startServer, startListening, binary } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen } from './lib/citizen.mjs';
import { addPlatform, shownUserCode, pageLoginId, basicAuth, deviceToken } from './lib/oidc.mjs';

const citizen = { id: nationalId('110105', '1979-09-09', '035'), name: '刘洋', birth: '1979-09-09', photo: 'img62.jpg' };
const LOOPS = 6;

/** A PKCE pair. */
function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

test('approvals, codes and tokens the service acknowledged survive kill -9', async (t) => {
  const temp = await initDataDir('durability');
  let server;
  try {
    await importRegistry(temp, [citizen]);
    const photos = await preparePhotos(temp.dir);
    const platform = await addPlatform(temp.data, temp.dir, {
      name: 'Test Durable', redirectUris: ['http://127.0.0.1:8601/cb'], claims: 'realname_verified',
    });
    server = await startServer(temp.data);
    const { port } = server;
    let issuer = server.url;
    const walletFile = path.join(temp.dir, 'citizen.json');
    await enrollCitizen(issuer, walletFile, citizen, photos);
    const wallet = JSON.parse(await readFile(walletFile, 'utf8'));
    const key = createPrivateKey(wallet.private_key);
    const auth = basicAuth(platform);

    // Each loop's logins stop at one stage, so that every stage has
    // acknowledged logins when the kill comes: approved (the app's
    // approval answered 200), coded (the page's poll gave the code),
    // tokens (the exchange answered 200).
    const approved = [], coded = [], tokens = [];
    let running = true;
    const stages = ['approved', 'coded', 'tokens'];
    async function loop(index) {
      const stage = stages[index % stages.length];
      while (running) {
        try {
          const checks = pkce();
          const query = new URLSearchParams({
            client_id: platform.client_id, redirect_uri: platform.redirectUri, response_type: 'code',
            scope: 'openid realname_verified', code_challenge: checks.challenge, code_challenge_method: 'S256',
          });
          const page = await fetch(`${issuer}/authorize?${query}`);
          if (page.status !== 200) continue;
          const html = await page.text();
          const userCode = shownUserCode(html).replace('-', '');
          const loginId = pageLoginId(html);
          const approvePath = `/v1/login/${userCode}/approve`;
          const token = deviceToken(issuer, key, wallet.certificate, 'POST', approvePath,
            { user_code: userCode, release: ['realname_verified'] });
          const approval = await fetch(`${issuer}${approvePath}`, {
            method: 'POST', headers: { authorization: `Device ${token}`, 'content-type': 'application/json' }, body: '{}',
          });
          if (approval.status !== 200) continue;
          if (stage === 'approved') { approved.push({ loginId, ...checks }); continue; }
          const status = await (await fetch(`${issuer}/v1/authorize/status/${loginId}`)).json();
          const code = new URL(status.redirect_to).searchParams.get('code');
          if (stage === 'coded') { coded.push({ code, ...checks }); continue; }
          const exchange = await fetch(`${issuer}/token`, {
            method: 'POST', headers: { authorization: auth },
            body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: platform.redirectUri, code_verifier: checks.verifier }),
          });
          if (exchange.status === 200) tokens.push(await exchange.json());
        } catch { /* the kill: an answer that never came */ }
      }
    }
    const loops = Array.from({ length: LOOPS }, (_, i) => loop(i));
    const enough = () => approved.length >= 3 && coded.length >= 3 && tokens.length >= 3;
    for (let i = 0; i < 600 && !enough(); i++) await new Promise((done) => setTimeout(done, 50));
    assert.ok(enough(), `logins ran: ${approved.length} approved, ${coded.length} coded, ${tokens.length} tokens`);
    // In the middle of the loops' requests.
    server.child.kill('SIGKILL');
    const killed = await new Promise((done) => server.child.on('exit', (code, signal) => done(signal)));
    assert.equal(killed, 'SIGKILL');
    running = false;
    await Promise.all(loops);
    t.diagnostic(`acknowledged before the kill: ${approved.length} approvals, ${coded.length} codes, ${tokens.length} token pairs`);
    server = null;

    server = await startListening(binary, ['serve', '--data', temp.data, '--listen', `127.0.0.1:${port}`],
      'cyberid serve');
    issuer = server.url;
    const token = (fields) => fetch(`${issuer}/token`, {
      method: 'POST', headers: { authorization: auth }, body: new URLSearchParams(fields),
    });
    const exchange = async (code, verifier) => {
      const answer = await token({ grant_type: 'authorization_code', code, redirect_uri: platform.redirectUri, code_verifier: verifier });
      assert.equal(answer.status, 200, await answer.clone().text());
      return answer.json();
    };

    for (const login of approved) {
      const status = await (await fetch(`${issuer}/v1/authorize/status/${login.loginId}`)).json();
      assert.equal(status.status, 'approved', `an acknowledged approval: ${JSON.stringify(status)}`);
      await exchange(new URL(status.redirect_to).searchParams.get('code'), login.verifier);
    }
    for (const login of coded) await exchange(login.code, login.verifier);
    for (const pair of tokens) {
      const introspected = await (await fetch(`${issuer}/introspect`, {
        method: 'POST', headers: { authorization: auth }, body: new URLSearchParams({ token: pair.access_token }),
      })).json();
      assert.equal(introspected.active, true, 'an acknowledged access token is live');
      const refreshed = await token({ grant_type: 'refresh_token', refresh_token: pair.refresh_token });
      assert.equal(refreshed.status, 200, 'an acknowledged refresh token refreshes');
    }
    const stopped = await server.stop();
    server = null;
    assert.equal(stopped.code, 0);
  } finally {
    if (server) await server.stop();
    await temp.cleanup();
  }
});
