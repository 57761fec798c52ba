// A witness over the transparency log (docs/api.md, "Witnesses"): the
// real cyberid-witness on a loopback port, `cyberid serve --witness` posting
// each new checkpoint to it. Checked from outside with node:crypto: the
// checkpoint on /log/checkpoint carries the witness's cosignature
// (cosignature/v1) as the log grows; `cyberid-app history` with the
// witness's key in the wallet passes, and fails (witness_missing) when the
// checkpoint lacks a cosignature it requires, also while the witness is
// down (the log goes on). Then a split view: a checkpoint properly signed
// with the log's key (keys/log-checkpoint.key.pem) of a tree that does not
// extend the one the witness cosigned is posted to the witness directly:
// refused (422; 409 for a stale old size or another root at the same
// size, 403 for another key), and its state file is unchanged.
//
// The log key is read from its file: registered with the file key store
// only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes,
  sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { binary, run, initDataDir, startServer, startListening, sql } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, enrollCitizen, exec, app } from './lib/citizen.mjs';
import { addPlatform } from './lib/oidc.mjs';

const witnessBinary = process.env.CYBERID_WITNESS_BINARY || path.join(path.dirname(binary), 'cyberid-witness');
const person = { id: nationalId('110105', '1981-04-04', '051'), name: '见证', birth: '1981-04-04', photo: 'img62.jpg' };
const WITNESS_NAME = 'witness.test/w1';
const DASH = '\u2014';
let temp, server, witness, citizen, logVkey, witnessVkey, witnessState, witnessPort;

/** Starts `cyberid-witness serve`; resolves {port, logs, child, stop()}. */
function startWitness(port = 0) {
  return startListening(witnessBinary, ['serve', '--state', witnessState, '--listen', `127.0.0.1:${port}`,
    '--log', logVkey], 'cyberid-witness serve');
}

/** A signed-note verifier key: {name, id (hex), type, key (raw)}. */
function parseVkey(vkey) {
  const text = vkey.trim();
  const first = text.indexOf('+');
  const name = text.slice(0, first), id = text.slice(first + 1, first + 9);
  const raw = Buffer.from(text.slice(first + 10), 'base64');
  return { name, id, type: raw[0], key: raw.subarray(1) };
}

const ed25519Public = (raw) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
const keyId = (name, type, raw) => createHash('sha256')
  .update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([type]), raw])).digest().subarray(0, 4);

/** The note's body (text up to the blank line) after checking the log's
 * signature; and the witness's cosignature, checked: {size, root, time}
 * or null when it has none. */
function openNote(note) {
  const log = parseVkey(logVkey);
  const split = note.indexOf('\n\n');
  const body = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n').filter((l) => l);
  const signature = lines.find((l) => l.startsWith(`${DASH} ${log.name} `));
  assert.ok(signature, note);
  const signed = Buffer.from(signature.split(' ')[2], 'base64');
  assert.equal(signed.subarray(0, 4).toString('hex'), log.id);
  assert.ok(cryptoVerify(null, Buffer.from(body), ed25519Public(log.key), signed.subarray(4)), 'the log signed it');
  const [, size, root] = body.trimEnd().split('\n');
  const w = parseVkey(witnessVkey);
  assert.equal(w.type, 4, 'a cosignature/v1 key');
  assert.deepEqual(keyId(w.name, 4, w.key).toString('hex'), w.id, 'the witness key ID');
  const line = lines.find((l) => l.startsWith(`${DASH} ${w.name} `));
  let time = null;
  if (line) {
    const raw = Buffer.from(line.split(' ')[2], 'base64');
    assert.equal(raw.length, 4 + 8 + 64);
    assert.equal(raw.subarray(0, 4).toString('hex'), w.id);
    time = Number(raw.readBigUInt64BE(4));
    const message = Buffer.from(`cosignature/v1\ntime ${time}\n${body}`);
    assert.ok(cryptoVerify(null, message, ed25519Public(w.key), raw.subarray(12)), 'the witness cosigned it');
    assert.ok(Math.abs(time - Date.now() / 1000) < 600, 'a timestamp of now');
  }
  return { size: Number(size), root, time, body };
}

async function eventCount() {
  return Number((await sql(temp.data, 'SELECT COUNT(*) AS n FROM audit_event'))[0].n);
}

/** The checkpoint once it covers every event and the witness cosigned it. */
async function cosignedCheckpoint() {
  const want = await eventCount();
  let last = null;
  for (let i = 0; i < 150; i++) {
    const response = await fetch(`${server.url}/log/checkpoint`);
    if (response.status === 200) {
      last = openNote(await response.text());
      if (last.size === want && last.time !== null) return last;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  assert.fail(`no cosigned checkpoint of ${want} events (last: ${JSON.stringify(last)})`);
}

/** `cyberid-app history --json` once the log has every event. */
async function history() {
  const want = await eventCount();
  let result;
  for (let i = 0; i < 150; i++) {
    result = await app(['--wallet', citizen.wallet, 'history', '--json']);
    if (result.code === 0 && JSON.parse(result.stdout).checkpoint_size === want) return result;
    await new Promise((done) => setTimeout(done, 100));
  }
  return result;
}

/** The witness's state of the log: its file under logs/. */
function stateFile() {
  const origin = parseVkey(logVkey).name;
  return path.join(witnessState, 'logs', createHash('sha256').update(origin).digest('hex'));
}

/** A checkpoint note of the log signed with its key file. */
async function forgeNote(size, root) {
  const log = parseVkey(logVkey);
  const key = createPrivateKey(await readFile(path.join(temp.data, 'keys', 'log-checkpoint.key.pem')));
  const body = `${log.name}\n${size}\n${root.toString('base64')}\n`;
  const signature = cryptoSign(null, Buffer.from(body), key);
  return `${body}\n${DASH} ${log.name} ${Buffer.concat([Buffer.from(log.id, 'hex'), signature]).toString('base64')}\n`;
}

function addCheckpoint(body) {
  return fetch(`http://127.0.0.1:${witnessPort}/add-checkpoint`, { method: 'POST', body });
}

before(async () => {
  temp = await initDataDir('witness');
  const verified = await run(['log', 'verify', '--data', temp.data]);
  assert.equal(verified.code, 0, verified.stderr);
  logVkey = JSON.parse(verified.stdout).key;
  witnessState = path.join(temp.dir, 'witness');
  const made = await exec(witnessBinary, ['init', '--state', witnessState, '--name', WITNESS_NAME]);
  assert.equal(made.code, 0, made.stderr);
  witnessVkey = made.stdout.trim();
  witness = await startWitness();
  witnessPort = witness.port;
  await importRegistry(temp, [person]);
  server = await startServer(temp.data, ['--witness', `http://127.0.0.1:${witnessPort}=${witnessVkey}`]);
  const photos = await preparePhotos(temp.dir);
  citizen = await enrollCitizen(server.url, path.join(temp.dir, 'wallet.json'), person, photos);
});

after(async () => {
  if (server) await server.stop();
  if (witness) await witness.stop();
  if (temp) await temp.cleanup();
});

test('cyberid-witness init and --help say what it is', async () => {
  assert.match(witnessVkey, /^witness\.test\/w1\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
  const again = await exec(witnessBinary, ['init', '--state', witnessState, '--name', WITNESS_NAME]);
  assert.equal(again.code, 1, 'a folder with a key is refused');
  const help = await exec(witnessBinary, ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /add-checkpoint/);
  const bad = await exec(witnessBinary, ['serve', '--state', witnessState, '--log', witnessVkey]);
  assert.equal(bad.code, 1, 'a cosignature key is not a log key');
});

test('the witness cosigns a growing log, and the app requires its cosignature', async () => {
  const first = await cosignedCheckpoint();
  assert.ok(first.size >= 3);
  await addPlatform(temp.data, temp.dir, { name: 'Witness Shop', redirectUris: ['http://127.0.0.1:8421/cb'] });
  const second = await cosignedCheckpoint();
  assert.ok(second.size > first.size, 'grown');
  // The witness's state is the checkpoint it cosigned last.
  assert.ok((await readFile(stateFile(), 'utf8')).startsWith(second.body));
  // log verify holds over notes that carry cosignatures.
  const verified = await run(['log', 'verify', '--data', temp.data]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);

  // The app with the witness's key: passes.
  const added = await app(['--wallet', citizen.wallet, 'witness', 'add', witnessVkey]);
  assert.equal(added.code, 0, added.stderr);
  const listed = await app(['--wallet', citizen.wallet, 'witness', 'list']);
  assert.equal(listed.stdout.trim(), witnessVkey);
  const passed = await history();
  assert.equal(passed.code, 0, passed.stderr);
  assert.equal(JSON.parse(passed.stdout).verified, true);
  assert.equal(JSON.parse(await readFile(citizen.wallet, 'utf8')).witness_keys, witnessVkey);

  // A witness that never cosigned this log: refused.
  const other = await exec(witnessBinary, ['init', '--state', path.join(temp.dir, 'other'), '--name', 'witness.test/w2']);
  assert.equal(other.code, 0, other.stderr);
  const otherVkey = other.stdout.trim();
  assert.equal((await app(['--wallet', citizen.wallet, 'witness', 'add', otherVkey])).code, 0);
  const refused = await app(['--wallet', citizen.wallet, 'history', '--json']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /witness_missing: .*witness\.test\/w2/);
  assert.deepEqual(JSON.parse(refused.stdout), { error: 'witness_missing' });
  assert.equal((await app(['--wallet', citizen.wallet, 'witness', 'remove', otherVkey])).code, 0);
  assert.equal((await app(['--wallet', citizen.wallet, 'witness', 'add', 'not-a-key'])).code, 2);
  assert.equal((await history()).code, 0);
});

test('a witness down: the log goes on uncosigned, the app refuses it, and cosigning resumes', async () => {
  const before = await cosignedCheckpoint();
  const stopped = await witness.stop();
  assert.equal(stopped.code, 0, witness.logs.join('\n'));
  witness = null;
  await addPlatform(temp.data, temp.dir, { name: 'Witness Shop Down', redirectUris: ['http://127.0.0.1:8422/cb'] });
  const want = await eventCount();
  let latest = null;
  for (let i = 0; i < 100 && !(latest && latest.size === want); i++) {
    await new Promise((done) => setTimeout(done, 100));
    latest = openNote(await (await fetch(`${server.url}/log/checkpoint`)).text());
  }
  assert.equal(latest.size, want, 'the sequencer goes on without the witness');
  assert.ok(latest.size > before.size);
  assert.equal(latest.time, null, 'not cosigned');
  const refused = await app(['--wallet', citizen.wallet, 'history', '--json']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /witness_missing/);
  assert.ok(server.logs.some((l) => l.includes('"witness_failed"')), 'the failure is logged');
  // Back on the same port: the pending checkpoint gets cosigned.
  witness = await startWitness(witnessPort);
  const after = await cosignedCheckpoint();
  assert.equal(after.size, latest.size);
  assert.equal((await history()).code, 0);
});

test('a split view posted to the witness is refused and leaves its state as it was', async () => {
  const cosigned = await cosignedCheckpoint();
  const state = await readFile(stateFile());
  // A bigger tree whose proof cannot show it extends the cosigned one.
  const forged = await forgeNote(cosigned.size + 1, randomBytes(32));
  const proof = `${randomBytes(32).toString('base64')}\n`;
  let response = await addCheckpoint(`old ${cosigned.size}\n${proof}\n${forged}`);
  assert.equal(response.status, 422, await response.text());
  // From a stale size: the witness says its size.
  response = await addCheckpoint(`old 0\n\n${forged}`);
  assert.equal(response.status, 409);
  assert.equal(response.headers.get('content-type'), 'text/x.tlog.size');
  assert.equal(await response.text(), `${cosigned.size}\n`);
  // The same size with another root.
  response = await addCheckpoint(`old ${cosigned.size}\n\n${await forgeNote(cosigned.size, randomBytes(32))}`);
  assert.equal(response.status, 409);
  // The log's origin signed by another key.
  const { privateKey } = generateKeyPairSync('ed25519');
  const log = parseVkey(logVkey);
  const body = `${log.name}\n${cosigned.size + 1}\n${randomBytes(32).toString('base64')}\n`;
  const stranger = `${body}\n${DASH} ${log.name} ${Buffer.concat([Buffer.from(log.id, 'hex'), cryptoSign(null, Buffer.from(body), privateKey)]).toString('base64')}\n`;
  response = await addCheckpoint(`old ${cosigned.size}\n\n${stranger}`);
  assert.equal(response.status, 403);
  // Garbage, and a log it does not follow.
  response = await addCheckpoint('old x\n\nnothing');
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error, 'invalid_request');
  response = await addCheckpoint(`old 0\n\nexample.org/log\n1\n${randomBytes(32).toString('base64')}\n\n`);
  assert.equal(response.status, 404);
  response = await addCheckpoint(`old 0\n\n${'A'.repeat(20000)}`);
  assert.equal(response.status, 413);
  assert.deepEqual(await readFile(stateFile()), state, 'the state is unchanged');
  // The real log still gets cosigned from there.
  await addPlatform(temp.data, temp.dir, { name: 'Witness Shop After', redirectUris: ['http://127.0.0.1:8423/cb'] });
  const next = await cosignedCheckpoint();
  assert.ok(next.size > cosigned.size);
});

test('the witness and the service stop cleanly (under the sanitizers: no leak)', async () => {
  const served = await server.stop();
  assert.equal(served.code, 0, server.logs.join('\n'));
  server = null;
  const witnessed = await witness.stop();
  assert.equal(witnessed.code, 0, witness.logs.join('\n'));
  witness = null;
});
