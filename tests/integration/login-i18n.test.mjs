// The pages in Simplified Chinese and English, the same-device link and
// the citizen's choice claim by claim (docs/api.md, "The pages' language",
// "Same-device login", "The app's side"): the language of the login page
// from ui_locales, then Accept-Language (q-values), then the deployment's
// default (config.json "default_lang", `serve --default-lang`); the error
// and logout pages in the same language; the login page's cyberid:// link
// opened by the app; the login URL opened in a browser, a page that says
// what to do; the app in Chinese naming the claims in words, releasing
// only the ones chosen (the platform's ID token and userinfo hold only
// those), and a bare Enter that never denies.
//
// With CYBERID_DOCS_SCREENSHOTS=DIR (scripts/docs-screenshots.sh) the
// screenshots of the login page in both languages and the app's questions
// in both languages are written to DIR (docs/img) instead of a temporary
// folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import { initDataDir, startServer, run } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen, appBinary } from './lib/citizen.mjs';
import {
  addPlatform, discover, loginChecks, authorizationUrl, shownUserCode, pageLoginId, pollOnce,
  pollDecided,
} from './lib/oidc.mjs';

const CHROMIUM = '/usr/bin/chromium';
const SCOPE = 'openid realname_verified age_over_18 birth_year';
const adult = { id: nationalId('110105', '1980-05-04', '031'), name: '王伟', birth: '1980-05-04', photo: 'img62.jpg' };
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36';

let temp, server, platform, config, citizen, shots;

before(async () => {
  temp = await initDataDir('login-i18n');
  // The deployment's default: Chinese, from config.json.
  const configFile = path.join(temp.data, 'config.json');
  const settings = JSON.parse(await readFile(configFile, 'utf8'));
  await writeFile(configFile, JSON.stringify({ ...settings, default_lang: 'zh' }));
  await importRegistry(temp, [adult]);
  const photos = await preparePhotos(temp.dir);
  platform = await addPlatform(temp.data, temp.dir, {
    name: 'Test Shop', redirectUris: ['http://127.0.0.1:9/callback'],
    claims: 'realname_verified,age_over_18,birth_year', purpose: 'Age check before delivery',
  });
  server = await startServer(temp.data);
  citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), adult, photos);
  config = await discover(server.url, platform);
  shots = process.env.CYBERID_DOCS_SCREENSHOTS || temp.dir;
  await mkdir(shots, { recursive: true });
});

after(async () => {
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, 'cyberid serve exits 0 on SIGTERM');
  }
  if (temp) await temp.cleanup();
});

/** GET /authorize with extra parameters and headers: {html, status,
 * checks, shown, code (8 letters), loginId} (shown and after: pages). */
async function openLogin(extra = {}, headers = {}) {
  const checks = await loginChecks();
  const url = authorizationUrl(config, platform, checks, SCOPE, extra);
  const response = await fetch(url, { redirect: 'manual', headers });
  const html = await response.text();
  assert.equal(response.status, 200, html);
  assert.match(response.headers.get('content-type'), /^text\/html/);
  const shown = shownUserCode(html);
  return { checks, html, shown, code: shown.replace('-', ''), loginId: pageLoginId(html) };
}

const isChinese = (html) => html.includes('<html lang="zh-CN">') && html.includes('此代码 5 分钟后失效')
  && html.includes('<h1>登录 Test Shop</h1>') && html.includes('您是否已满18周岁') && !html.includes('Log in to');
const isEnglish = (html) => html.includes('<html lang="en">') && html.includes('The code expires in 5 minutes')
  && html.includes('<h1>Log in to Test Shop</h1>') && html.includes('Whether you are over 18') && !html.includes('登录');

/** cyberid-app with args, its answers on standard input (no terminal: a
 * session of its own); resolves {code, stdout, stderr}. */
function appAnswering(args, answers) {
  return new Promise((resolve) => {
    const child = spawn(appBinary, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // An app that exits before reading its answers (a usage error) closes
    // the pipe: EPIPE here is that, and its exit code is what is checked.
    child.stdin.on('error', (error) => { if (error.code !== 'EPIPE') throw error; });
    child.stdin.end(answers.map((answer) => `${answer}\n`).join(''));
  });
}

/** The app's questions with the answers typed after them, as a terminal
 * shows them. */
function transcript(stderr, answers) {
  let text = stderr;
  let at = 0;
  for (const answer of answers) {
    const prompt = /\] (?!\n)/g;
    prompt.lastIndex = at;
    const found = prompt.exec(text);
    if (!found) break;
    const end = found.index + 2;
    text = `${text.slice(0, end)}${answer}\n${text.slice(end)}`;
    at = end + answer.length + 1;
  }
  return text;
}

test('the login page in Chinese or English: ui_locales, then Accept-Language by q, then the default', async () => {
  assert.ok(isChinese((await openLogin({ ui_locales: 'zh-CN' }, { 'accept-language': 'en' })).html), 'ui_locales=zh-CN');
  assert.ok(isEnglish((await openLogin({ ui_locales: 'fr en-GB zh' }, { 'accept-language': 'zh' })).html), 'ui_locales: the first spoken');
  assert.ok(isChinese((await openLogin({ ui_locales: 'zh-Hans' })).html), 'zh-Hans');
  assert.ok(isChinese((await openLogin({}, { 'accept-language': 'zh-CN;q=0.9,en;q=0.5' })).html), 'zh by q');
  assert.ok(isEnglish((await openLogin({}, { 'accept-language': 'zh-CN;q=0.5,en;q=0.9' })).html), 'en beats zh by q');
  assert.ok(isEnglish((await openLogin({}, { 'accept-language': 'zh-TW, en;q=0.1' })).html), 'not Traditional Chinese');
  // Nothing spoken asked: the default of config.json.
  assert.ok(isChinese((await openLogin({}, { 'accept-language': 'fr-FR,fr;q=0.9' })).html), 'the default: zh');
  assert.ok(isChinese((await openLogin()).html), 'no Accept-Language: the default');
  // Over-long inputs are ignored whole.
  assert.ok(isChinese((await openLogin({ ui_locales: `en ${'x '.repeat(200)}` }, { 'accept-language': `en,${'x,'.repeat(300)}` })).html),
    'over-long ui_locales and Accept-Language: ignored whole');
  // The script's texts are the page's language too.
  const zh = await openLogin({ ui_locales: 'zh' });
  assert.match(zh.html, /data-gone="此登录已失效。请返回网站重新开始。"/);
  assert.match(zh.html, /<h2>Test Shop 说明的用途<\/h2>/);
});

test('a pushed request (PAR) carries its ui_locales to the page', async () => {
  const checks = await loginChecks();
  const pushed = await fetch(`${server.url}/par`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(platform.client_id)}:${encodeURIComponent(platform.client_secret)}`).toString('base64')}` },
    body: new URLSearchParams({ redirect_uri: platform.redirectUri, response_type: 'code', scope: SCOPE,
      code_challenge: checks.challenge, code_challenge_method: 'S256', state: checks.state, ui_locales: 'zh-CN' }),
  });
  assert.equal(pushed.status, 201, await pushed.clone().text());
  const { request_uri: requestUri } = await pushed.json();
  const query = new URLSearchParams({ client_id: platform.client_id, request_uri: requestUri, ui_locales: 'en' });
  const response = await fetch(`${server.url}/authorize?${query}`, { headers: { 'accept-language': 'en' } });
  const html = await response.text();
  assert.equal(response.status, 200, html);
  assert.ok(isChinese(html), 'the pushed ui_locales, not the query\'s (RFC 9126 §4)');
  // A request_uri used again: the refusal page in the query's language.
  const again = await fetch(`${server.url}/authorize?${query}`);
  assert.equal(again.status, 400);
  assert.ok((await again.text()).includes('This login request has expired or was already used'));
});

test('the error and logout pages in Chinese or English', async () => {
  const refused = async (query, headers = {}) => {
    const response = await fetch(`${server.url}/authorize?${new URLSearchParams(query)}`, { redirect: 'manual', headers });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type'), /^text\/html/);
    return response.text();
  };
  const unknown = await refused({ client_id: 'nobody', redirect_uri: 'https://x.example/', ui_locales: 'zh-CN' });
  assert.ok(unknown.includes('<html lang="zh-CN">'));
  assert.ok(unknown.includes('<h1>此登录请求无法使用</h1>'), unknown);
  assert.ok(unknown.includes('没有在 cyberid 登记'));
  const wrongUri = await refused({ client_id: platform.client_id, redirect_uri: 'https://x.example/' },
    { 'accept-language': 'en-US,en;q=0.9,zh;q=0.8' });
  assert.ok(wrongUri.includes('<html lang="en">') && wrongUri.includes('is not one this site registered'), wrongUri);
  const missing = await refused({ client_id: platform.client_id });
  assert.ok(missing.includes('缺少 redirect_uri'), 'the default language: Chinese');
  // Logout's pages, with its own ui_locales parameter.
  const logout = await fetch(`${server.url}/logout?ui_locales=en`);
  assert.equal(logout.status, 400);
  assert.ok((await logout.text()).includes('This logout cannot be used'));
  const logoutZh = await fetch(`${server.url}/logout`, { headers: { 'accept-language': 'zh-CN' } });
  const logoutText = await logoutZh.text();
  assert.ok(logoutText.includes('<html lang="zh-CN">') && logoutText.includes('此退出请求无法使用'), logoutText);
});

test('serve --default-lang overrides config.json; a language it does not speak is a usage error', async () => {
  const bad = await run(['serve', '--data', temp.data, '--default-lang', 'fr']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--default-lang must be en or zh/);
  const english = await startServer(temp.data, ['--default-lang', 'en']);
  try {
    const response = await fetch(`${english.url}/authorize`);
    const html = await response.text();
    assert.ok(html.includes('<html lang="en">') && html.includes('This login request cannot be used'), html);
  } finally {
    assert.equal((await english.stop()).code, 0);
  }
  // config.json's setting is checked as the flag is.
  const configFile = path.join(temp.data, 'config.json');
  const settings = await readFile(configFile, 'utf8');
  await writeFile(configFile, JSON.stringify({ ...JSON.parse(settings), default_lang: 'zh-CN' }));
  try {
    const refused = await run(['serve', '--data', temp.data, '--listen', '127.0.0.1:0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /"default_lang" must be "en" or "zh"/);
  } finally {
    await writeFile(configFile, settings);
  }
});

test('the same-device link opens the login in the app; the login URL in a browser is a page saying what to do', async () => {
  const page = await openLogin({ ui_locales: 'en' }, { 'user-agent': PHONE_UA });
  const link = `cyberid://login?server=${encodeURIComponent(server.url)}&code=${page.code}`;
  const escaped = link.replaceAll('&', '&amp;');
  assert.ok(page.html.includes(`id="app-link" href="${escaped}"`), 'the page links to the app');
  assert.ok(page.html.includes(`id="app-fallback" href="${server.url}/v1/login/${page.code}"`), 'and to the https fallback');
  assert.ok(page.html.indexOf('id="app-link"') < page.html.indexOf('<svg'), 'on a phone, the link comes first');
  const desktop = await openLogin({ ui_locales: 'en' });
  assert.ok(desktop.html.includes('id="app-link" href="cyberid://login?'), 'the link is there for everyone');
  assert.ok(desktop.html.indexOf('id="app-link"') > desktop.html.indexOf('<svg'), 'after the QR code on a computer');

  // The login URL (the QR code's, the fallback's) in a browser: HTML.
  const inBrowser = await fetch(`${server.url}/v1/login/${page.code}`, {
    headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'accept-language': 'zh-CN,zh;q=0.9' },
  });
  assert.equal(inBrowser.status, 200);
  assert.match(inBrowser.headers.get('content-type'), /^text\/html/);
  const help = await inBrowser.text();
  assert.ok(help.includes('<html lang="zh-CN">') && help.includes('请在 cyberid 应用中打开此登录'), help);
  assert.ok(help.includes(`href="${escaped}"`) && help.includes(page.shown), 'the link and the code');
  const helpEn = await (await fetch(`${server.url}/v1/login/${page.code}?ui_locales=en`, { headers: { accept: 'text/html' } })).text();
  assert.ok(helpEn.includes('Install the cyberid app'), helpEn);
  const notCode = await fetch(`${server.url}/v1/login/AEIOU`, { headers: { accept: 'text/html' } });
  assert.equal(notCode.status, 404);
  assert.match(notCode.headers.get('content-type'), /^text\/html/);
  // The app's JSON answer is unchanged: without a device token, 401.
  const json = await fetch(`${server.url}/v1/login/${page.code}`, { headers: { accept: 'application/json' } });
  assert.equal(json.status, 401);
  assert.match(json.headers.get('content-type'), /json/);

  // The app opens the link: the same login as `login CODE`.
  const opened = await appAnswering(['--lang', 'en', '--wallet', citizen.wallet, 'open', link, '--approve', '--release', 'age_over_18'], []);
  assert.equal(opened.code, 0, opened.stderr);
  assert.equal(JSON.parse(opened.stdout).status, 'approved');
  assert.equal((await pollDecided(server.url, page.loginId)).status, 'approved');
  const notLink = await appAnswering(['--wallet', citizen.wallet, 'open', desktop.shown], []);
  assert.equal(notLink.code, 2, 'open takes a link only');
});

test('the app in Chinese names the claims in words, asks claim by claim, and only the chosen reach the platform', async () => {
  const page = await openLogin({ ui_locales: 'zh-CN' });
  // Enter alone asks again: realname_verified: Enter, then n; age_over_18:
  // y; birth_year: n; the approval: Enter, then y.
  const answers = ['', 'n', 'y', 'n', '', 'y'];
  const approved = await appAnswering(['--lang', 'zh', '--wallet', citizen.wallet, 'login', page.shown], answers);
  assert.equal(approved.code, 0, approved.stderr);
  for (const words of ['登录：Test Shop', '您已通过实名认证（不含姓名本身）', '您是否已满18周岁', '您的出生年份',
    '提供「您是否已满18周岁」？[y = 提供 / n = 不提供]', '请回答 y 或 n（只按回车不算回答）',
    '批准登录 Test Shop，并提供：您是否已满18周岁？', `请核对：您打开的页面显示的代码是 ${page.shown}`]) {
    assert.ok(approved.stderr.includes(words), `${words}\n${approved.stderr}`);
  }
  assert.doesNotMatch(approved.stderr, /age_over_18|realname_verified|birth_year/, 'no raw claim names');
  assert.deepEqual(JSON.parse(approved.stdout).released, ['age_over_18']);
  await writeFile(path.join(shots, 'app-login-zh.txt'), transcript(approved.stderr, answers));

  const decided = await pollDecided(server.url, page.loginId);
  assert.equal(decided.status, 'approved');
  const tokens = await client.authorizationCodeGrant(config, new URL(decided.redirect_to), {
    pkceCodeVerifier: page.checks.verifier, expectedState: page.checks.state, expectedNonce: page.checks.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.age_over_18, true);
  assert.equal(claims.realname_verified, undefined, 'not chosen: not in the ID token');
  assert.equal(claims.birth_year, undefined);
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.age_over_18, true);
  assert.equal(info.realname_verified, undefined, 'not chosen: not in userinfo');
  assert.equal(info.birth_year, undefined);

  // The same questions in English, for the docs.
  const english = await openLogin({ ui_locales: 'en' });
  const answersEn = ['y', 'y', 'n', 'y'];
  const approvedEn = await appAnswering(['--lang', 'en', '--wallet', citizen.wallet, 'login', english.shown], answersEn);
  assert.equal(approvedEn.code, 0, approvedEn.stderr);
  assert.ok(approvedEn.stderr.includes('Share whether you are over 18? [y = share / n = do not share]'), approvedEn.stderr);
  assert.deepEqual(JSON.parse(approvedEn.stdout).released, ['realname_verified', 'age_over_18']);
  await writeFile(path.join(shots, 'app-login-en.txt'), transcript(approvedEn.stderr, answersEn));
});

test('a bare Enter never denies: no answer leaves the login pending, only n denies', async () => {
  const page = await openLogin();
  const enters = await appAnswering(['--lang', 'en', '--wallet', citizen.wallet, 'login', page.shown], ['', '', '', '', '', '', '']);
  assert.equal(enters.code, 1);
  assert.match(enters.stderr, /Please answer y or n \(Enter alone is not an answer\)/);
  assert.match(enters.stderr, /No answer: nothing was sent; the login stays pending/);
  assert.equal((await pollOnce(server.url, page.loginId)).body.status, 'pending');
  // Enter at the last question, then the end of input: still nothing.
  const last = await appAnswering(['--lang', 'zh', '--wallet', citizen.wallet, 'login', page.shown], ['y', 'y', 'y', '']);
  assert.equal(last.code, 1);
  assert.match(last.stderr, /没有回答：未发送任何内容/);
  assert.equal((await pollOnce(server.url, page.loginId)).body.status, 'pending');
  // An explicit n at the approval denies.
  const denied = await appAnswering(['--lang', 'en', '--wallet', citizen.wallet, 'login', page.shown], ['n', 'n', 'n', 'n']);
  assert.equal(denied.code, 0, denied.stderr);
  assert.equal(JSON.parse(denied.stdout).status, 'denied');
  assert.equal((await pollDecided(server.url, page.loginId)).status, 'denied');
});

test('chromium shows the login page in the browser\'s language (screenshots)', async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    for (const [locale, lang, file] of [['en-US', 'en', 'login-en.png'], ['zh-CN', 'zh-CN', 'login-zh.png']]) {
      const context = await browser.newContext({ locale, viewport: { width: 480, height: 900 } });
      try {
        const page = await context.newPage();
        const checks = await loginChecks();
        await page.goto(authorizationUrl(config, platform, checks, SCOPE).href);
        assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
        assert.match((await page.locator('#user-code').innerText()).trim(), /^[A-Z]{4}-[A-Z]{4}$/);
        assert.match(await page.locator('#app-link').getAttribute('href'), /^cyberid:\/\/login\?server=/);
        await page.screenshot({ path: path.join(shots, file), fullPage: true });
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
});
