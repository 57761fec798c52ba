// The citizen's own controls (README, `cyberid-app`), each through the
// real app and each an event of their history: `consents` lists the
// platforms that hold a grant with the claims released, and `consents
// withdraw` ends one platform's tokens at once (its refresh and userinfo
// fail, the other platform's still work); `lock` refuses every login and
// token at once and `unlock` ends it only with a face check of the
// record's face; `deactivate` revokes every device and token, and sticks
// until the citizen enrolls again with a face check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as client from 'openid-client';
import { initDataDir, startServer } from './lib/harness.mjs';
import { app, nationalId, importRegistry, preparePhotos, enrollCitizen, appEnroll, show } from './lib/citizen.mjs';
import {
  addPlatform, discover, loginChecks, authorizationUrl, shownUserCode, pageLoginId, pollDecided, appLogin,
} from './lib/oidc.mjs';

const person = { id: nationalId('110105', '1981-05-05', '051'), name: '控制', birth: '1981-05-05', photo: 'img62.jpg' };
let temp, server, citizen, photos, shop, bank;

before(async () => {
  temp = await initDataDir('controls');
  await importRegistry(temp, [person]);
  server = await startServer(temp.data);
  photos = await preparePhotos(temp.dir);
  citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), person, photos);
  shop = await addPlatform(temp.data, temp.dir, {
    name: 'Control Shop', redirectUris: ['http://127.0.0.1:8421/cb'], claims: 'realname_verified' });
  bank = await addPlatform(temp.data, temp.dir, {
    name: 'Control Bank', redirectUris: ['http://127.0.0.1:8422/cb'], claims: 'realname_verified,age_over_18' });
});

after(async () => {
  if (server) await server.stop();
  if (temp) await temp.cleanup();
});

const appWith = (wallet, ...args) => app(['--wallet', wallet, ...args]);

/** The login page of a platform opened and the code shown: what a
 * citizen's app approves. */
async function openLogin(platform, scope) {
  const config = await discover(server.url, platform);
  const checks = await loginChecks();
  const response = await fetch(authorizationUrl(config, platform, checks, scope), { redirect: 'manual' });
  const html = await response.text();
  assert.equal(response.status, 200, html);
  return { config, checks, code: shownUserCode(html), loginId: pageLoginId(html) };
}

/** A whole login (page, the app's approval, openid-client's exchange):
 * resolves {config, tokens}. */
async function login(platform, scope, wallet = citizen.wallet) {
  const page = await openLogin(platform, scope);
  const approved = await appLogin(wallet, page.code, '--approve');
  assert.equal(approved.code, 0, approved.stderr);
  const decided = await pollDecided(server.url, page.loginId);
  const tokens = await client.authorizationCodeGrant(page.config, new URL(decided.redirect_to), {
    pkceCodeVerifier: page.checks.verifier, expectedState: page.checks.state,
    expectedNonce: page.checks.nonce, idTokenExpected: true,
  });
  return { config: page.config, tokens };
}

/** Whether the platform's tokens still work: userinfo, then a refresh. */
async function tokensWork({ config, tokens }) {
  const sub = tokens.claims().sub;
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub).then(() => true, () => false);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token).then(() => true, () => false);
  return { userinfo, refreshed };
}

async function statusOf(wallet = citizen.wallet) {
  const result = await appWith(wallet, 'status');
  return { code: result.code, body: result.code === 0 ? JSON.parse(result.stdout) : null, stderr: result.stderr };
}

/** The citizen's verified history: its actions, once the sequencer has
 * put the last ones in. */
async function historyActions(wallet, wanted) {
  for (let i = 0; i < 100; i++) {
    const result = await appWith(wallet, 'history', '--json');
    assert.equal(result.code, 0, result.stderr);
    const actions = JSON.parse(result.stdout).entries.map((e) => e.action);
    if (wanted.every((action) => actions.includes(action))) return actions;
    await new Promise((done) => setTimeout(done, 100));
  }
  assert.fail(`history lacks one of ${wanted}`);
}

test('consents: the platforms holding a grant, and a withdrawal that ends one platform\'s tokens at once', async () => {
  const atShop = await login(shop, 'openid realname_verified');
  const atBank = await login(bank, 'openid realname_verified age_over_18');
  const listed = await appWith(citizen.wallet, 'consents');
  assert.equal(listed.code, 0, listed.stderr);
  const consents = JSON.parse(listed.stdout).consents;
  const byId = Object.fromEntries(consents.map((c) => [c.client_id, c]));
  assert.deepEqual(byId[shop.client_id].claims, ['realname_verified']);
  assert.equal(byId[shop.client_id].name, 'Control Shop');
  assert.deepEqual([...byId[bank.client_id].claims].sort(), ['age_over_18', 'realname_verified']);
  assert.ok(byId[bank.client_id].until > byId[bank.client_id].since);
  // In words, for a person, in either language.
  assert.match((await app(['--lang', 'en', '--wallet', citizen.wallet, 'consents'])).stderr,
    /Control Bank \([^)]+\): real-name verified, over 18; until \d{4}-/);
  assert.match((await app(['--lang', 'zh', '--wallet', citizen.wallet, 'consents'])).stderr,
    /Control Bank（[^）]+）：已实名认证、已满18周岁；至 \d{4}年/);

  const withdrawn = await appWith(citizen.wallet, 'consents', 'withdraw', shop.client_id);
  assert.equal(withdrawn.code, 0, withdrawn.stderr);
  assert.ok(JSON.parse(withdrawn.stdout).tokens_revoked >= 2, 'access and refresh tokens');
  assert.deepEqual(await tokensWork(atShop), { userinfo: false, refreshed: false });
  assert.deepEqual(await tokensWork(atBank), { userinfo: true, refreshed: true });
  const after = JSON.parse((await appWith(citizen.wallet, 'consents')).stdout).consents;
  assert.deepEqual(after.map((c) => c.client_id), [bank.client_id]);
  // Again: nothing left to withdraw; a client id that is not one: usage.
  const again = await appWith(citizen.wallet, 'consents', 'withdraw', shop.client_id);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not_found/);
  assert.equal((await appWith(citizen.wallet, 'consents', 'withdraw', '../x')).code, 2);
  await historyActions(citizen.wallet, ['consent.withdraw']);
});

test('lock refuses every login and token at once; unlock takes a face check of the record\'s face', async () => {
  const atBank = await login(bank, 'openid realname_verified');
  const locked = await appWith(citizen.wallet, 'lock');
  assert.equal(locked.code, 0, locked.stderr);
  assert.equal(JSON.parse(locked.stdout).status, 'locked');
  assert.deepEqual(await tokensWork(atBank), { userinfo: false, refreshed: false });
  const page = await openLogin(shop, 'openid realname_verified');
  const refused = await appLogin(citizen.wallet, page.code, '--approve');
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /locked/);
  const status = await statusOf();
  assert.equal(status.code, 0, status.stderr);
  assert.equal(status.body.status, 'locked');
  assert.equal((await appWith(citizen.wallet, 'lock')).code, 1, 'locked already: a lock needs an active identity');

  // Another face: refused, still locked.
  const wrongFace = await appWith(citizen.wallet, 'unlock', '--selfie', photos.files.other,
    '--turn-left', photos.files.left, '--turn-right', photos.files.right);
  assert.equal(wrongFace.code, 1, wrongFace.stdout);
  assert.equal((await statusOf()).body.status, 'locked');
  const before = await show(citizen.wallet);
  const unlocked = await appWith(citizen.wallet, 'unlock', '--selfie', photos.files.selfie,
    '--turn-left', photos.files.left, '--turn-right', photos.files.right);
  assert.equal(unlocked.code, 0, unlocked.stderr);
  const after = await show(citizen.wallet);
  assert.notEqual(after.serial, before.serial, 'the unlock gave the phone a new key and certificate');
  assert.equal((await statusOf()).body.status, 'active');
  // The platform's old tokens stay revoked; a new login works.
  assert.deepEqual(await tokensWork(atBank), { userinfo: false, refreshed: false });
  assert.deepEqual(await tokensWork(await login(bank, 'openid realname_verified')), { userinfo: true, refreshed: true });
  const actions = await historyActions(citizen.wallet, ['identity.lock', 'identity.unlock', 'login.refused']);
  assert.ok(actions.includes('identity.unlock_refused'), 'the wrong face is in the history too');
  // Not locked: unlock is refused.
  const notLocked = await appWith(citizen.wallet, 'unlock', '--selfie', photos.files.selfie,
    '--turn-left', photos.files.left, '--turn-right', photos.files.right);
  assert.equal(notLocked.code, 1);
  assert.match(notLocked.stderr, /not_locked/);
});

test('deactivate revokes every device and token, and sticks until the citizen enrolls again', async () => {
  const atShop = await login(shop, 'openid realname_verified');
  const deactivated = await appWith(citizen.wallet, 'deactivate');
  assert.equal(deactivated.code, 0, deactivated.stderr);
  const answer = JSON.parse(deactivated.stdout);
  assert.equal(answer.status, 'deactivated');
  assert.equal(answer.devices_revoked, 1);
  assert.deepEqual(await tokensWork(atShop), { userinfo: false, refreshed: false });
  // The phone's certificate is revoked: nothing it signs is taken.
  const status = await statusOf();
  assert.equal(status.code, 1);
  const page = await openLogin(shop, 'openid realname_verified');
  assert.equal((await appLogin(citizen.wallet, page.code, '--approve')).code, 1);

  // Enrolling again (ID number, name, face) brings the identity back
  // under the same web number, with the new device only.
  const wallet = path.join(temp.dir, 'wallet-again.json');
  const enrolled = await appEnroll(server.url, wallet, person, photos);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  const again = await show(wallet);
  assert.equal(again.web_number, citizen.web_number);
  assert.equal((await statusOf(wallet)).body.status, 'active');
  assert.deepEqual(await tokensWork(await login(shop, 'openid realname_verified', wallet)),
    { userinfo: true, refreshed: true });
  assert.equal((await statusOf()).code, 1, 'the old phone stays revoked');
  await historyActions(wallet, ['identity.deactivate', 'identity.reactivate']);
});
