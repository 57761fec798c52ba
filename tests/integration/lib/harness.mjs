// Starts the real cyberid binary for integration tests: `cyberid init` into
// a temporary data folder, `cyberid serve` on 127.0.0.1 with a free port
// (port 0, read back from the "listening" log line), and a clean SIGTERM
// stop whose exit status the tests check (a leak under LeakSanitizer or a
// crash makes it non-zero).
//
// CYBERID_TEST_DB picks the database every data folder gets: `sqlite` (the
// default: a file in the folder), `postgresql` (one server) or `citus` (a
// coordinator and two workers). For the last two, the first data folder
// starts the servers (tests/lib/pg-cluster.sh: initdb in a folder under
// /tmp, unix sockets, as the postgres user when root), each data folder
// gets a schema of its own in them (`options=-csearch_path=...` in the
// URI given to `cyberid init --db`), and the servers are stopped and
// removed when the test process exits.
//
// CYBERID_TEST_KEYS=softhsm puts every data folder's keys in a PKCS#11
// token of its own instead of files: SoftHSM2 with a configuration and a
// token folder made for the test process (SOFTHSM2_CONF, inherited by the
// servers it starts; removed at exit), one token per data folder, and
// `cyberid init --pkcs11-module ... --pkcs11-token ... --pkcs11-pin-file`.
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const binary = process.env.CYBERID_BINARY;
/** 1 under the sanitizer build (tests/integration/CMakeLists.txt). */
export const sanitized = process.env.CYBERID_SANITIZED === '1';
export const sharedDir = process.env.CYBERID_SHARED_DIR;
if (!binary) throw new Error('CYBERID_BINARY is not set (run through ctest)');
export const backend = process.env.CYBERID_TEST_DB || 'sqlite';
if (!['sqlite', 'postgresql', 'citus'].includes(backend)) throw new Error(`CYBERID_TEST_DB=${backend}?`);
export const keyStore = process.env.CYBERID_TEST_KEYS || 'files';
if (!['files', 'softhsm'].includes(keyStore)) throw new Error(`CYBERID_TEST_KEYS=${keyStore}?`);
export const softhsmModule = '/usr/lib/softhsm/libsofthsm2.so';

const pgClusterScript = fileURLToPath(new URL('../../lib/pg-cluster.sh', import.meta.url));
const PG_PORT = 5432;
let cluster = null;

/** The test process's PostgreSQL (or Citus) servers, started on first use:
 * {dir, nodes, uri(schema)}. */
export function pgCluster() {
  if (backend === 'sqlite') throw new Error('no PostgreSQL with CYBERID_TEST_DB=sqlite');
  if (cluster) return cluster;
  const dir = path.join(tmpdir(), `cyberid-pg-${process.pid}-${randomBytes(3).toString('hex')}`);
  execFileSync(pgClusterScript, ['start', dir, ...(backend === 'citus' ? ['--citus', '2'] : [])],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  const remove = () => {
    try { execFileSync(pgClusterScript, ['remove', dir], { stdio: 'ignore' }); } catch { /* gone */ }
  };
  process.on('exit', remove);
  // ctest stops a test past its timeout with a signal, which skips 'exit'.
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => { remove(); process.exit(128 + (signal === 'SIGTERM' ? 15 : 2)); });
  }
  cluster = {
    dir,
    nodes: backend === 'citus' ? 3 : 1,
    uri: (schema, node = 0) => `postgresql://postgres@/postgres?host=${dir}&port=${PG_PORT + node}` +
      (schema ? `&options=-csearch_path%3D${schema}` : ''),
  };
  return cluster;
}

let softhsm = null;

/** The test process's SoftHSM2 configuration, made on first use: its
 * token folder is removed when the test process exits. */
async function softhsmSetup() {
  if (softhsm) return softhsm;
  const dir = await mkdtemp(path.join(tmpdir(), 'cyberid-softhsm-'));
  const conf = path.join(dir, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const remove = () => { try { execFileSync('rm', ['-rf', dir]); } catch { /* gone */ } };
  process.on('exit', remove);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => { remove(); process.exit(128 + (signal === 'SIGTERM' ? 15 : 2)); });
  }
  softhsm = { dir, conf };
  return softhsm;
}

/** A new SoftHSM2 token and its PIN file in folder: the `cyberid init`
 * options that put a data folder's keys in it. */
export async function softhsmToken(folder) {
  await softhsmSetup();
  const label = `cy-${randomBytes(6).toString('hex')}`;
  const pin = randomBytes(8).toString('hex');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin,
    '--so-pin', randomBytes(8).toString('hex')], { stdio: 'ignore' });
  const pinFile = path.join(folder, 'token.pin');
  await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
  return { label, pinFile,
    initArgs: ['--pkcs11-module', softhsmModule, '--pkcs11-token', label, '--pkcs11-pin-file', pinFile] };
}

/** Runs the pg-cluster.sh command (stop, kill, restart) on the servers. */
export function pgClusterControl(command) {
  execFileSync(pgClusterScript, [command, pgCluster().dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs psql on a URI; resolves its stdout, rejects on failure. */
export function psql(uri, args) {
  return new Promise((resolve, reject) => {
    execFile('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-A', '-t', uri, ...args], { maxBuffer: 64 << 20 },
      (error, stdout, stderr) => (error ? reject(new Error(`psql: ${stderr || error.message}`)) : resolve(stdout)));
  });
}

/** A fresh schema in the test servers; resolves the URI that selects it. */
export async function newPgDatabase() {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await psql(pgCluster().uri(null), ['-q', '-c', `CREATE SCHEMA ${schema}`]);
  return pgCluster().uri(schema);
}

/** The database location a data folder records (config.json). */
export async function databaseOf(data) {
  return JSON.parse(await readFile(path.join(data, 'config.json'), 'utf8')).database;
}

/** Runs cyberid with args; resolves {code, stdout, stderr}, never rejects. */
export function run(args, options = {}) {
  return new Promise((resolve) => {
    execFile(binary, args, { maxBuffer: 16 << 20, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Runs one query on a data folder's database, beside a running service
 * if need be: the sqlite3 CLI (the Debian package sqlite3; WAL, a busy
 * timeout) or psql. Resolves its rows as objects, [] when none. How tests
 * look at what was (not) written; the SQL must be of the subset both
 * dialects read alike. */
export async function sql(data, statement) {
  if (backend !== 'sqlite') {
    // A materialized CTE: on Citus, a subquery's ORDER BY does not survive
    // a multi-shard pushdown under json_agg; the CTE is computed whole
    // (ordered on the coordinator) before it is aggregated.
    const out = await psql(await databaseOf(data),
      ['-c', `WITH t AS MATERIALIZED (${statement}) SELECT coalesce(json_agg(t), '[]'::json) FROM t`]);
    return JSON.parse(out.trim());
  }
  return new Promise((resolve, reject) => {
    execFile('sqlite3', ['-json', path.join(data, 'cyberid.db'), '.timeout 5000', statement],
      { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`sqlite3 failed (is the sqlite3 package installed?): ${stderr || error.message}`));
        else resolve(stdout.trim() ? JSON.parse(stdout) : []);
      });
  });
}

/** Runs one statement that changes rows; resolves how many it changed. */
export async function execute(data, statement) {
  if (backend !== 'sqlite') {
    const out = await psql(await databaseOf(data), ['-c', statement]);
    return Number(out.trim().split('\n').pop().match(/(\d+)$/)[1]);
  }
  const [{ changes }] = await sql(data, `${statement}; SELECT changes() AS changes`);
  return changes;
}

/** The names of the tables of a data folder's database. */
export async function tableNames(data) {
  const rows = backend === 'sqlite'
    ? await sql(data, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    : await sql(data, 'SELECT table_name AS name FROM information_schema.tables' +
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1");
  return rows.map(({ name }) => name);
}

/** What a copy of the data folder's database holds, as bytes: the SQLite
 * file with its -wal, -shm and -journal companions; or the pg_dump of its
 * schema on every server (a Citus worker holds the shards), whose BYTEA
 * columns are hex text: search both forms (containsSecret). */
export async function databaseCopy(data) {
  if (backend === 'sqlite') {
    const parts = [];
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      parts.push(await readFile(path.join(data, `cyberid.db${suffix}`)).catch(() => Buffer.alloc(0)));
    }
    return Buffer.concat(parts);
  }
  // (WHATWG URL refuses a libpq URI without a host: read the parameter.)
  const schema = (await databaseOf(data)).match(/options=-csearch_path%3D(\w+)/)[1];
  const dumps = [];
  for (let node = 0; node < pgCluster().nodes; node++) {
    dumps.push(await new Promise((resolve, reject) => {
      execFile('pg_dump', ['-h', pgCluster().dir, '-p', String(PG_PORT + node), '-U', 'postgres',
        '-n', schema, 'postgres'], { maxBuffer: 256 << 20, encoding: 'buffer' },
      (error, stdout, stderr) => (error ? reject(new Error(`pg_dump: ${stderr}`)) : resolve(stdout)));
    }));
  }
  return Buffer.concat(dumps);
}

/** The rows of the audit and log tables as text, one row a line: the
 * sqlite3 CLI's .dump of them, or pg_dump of them (shards included) on
 * every PostgreSQL server. */
export async function eventTablesDump(data) {
  const tables = ['audit_event', 'log_leaf', 'log_hash', 'log_checkpoint'];
  if (backend === 'sqlite') {
    return new Promise((resolve, reject) => {
      execFile('sqlite3', [path.join(data, 'cyberid.db'), '.timeout 5000', `.dump ${tables.join(' ')}`],
        { maxBuffer: 256 << 20 }, (error, stdout, stderr) => (error ? reject(new Error(`sqlite3: ${stderr}`)) : resolve(stdout)));
    });
  }
  const schema = (await databaseOf(data)).match(/options=-csearch_path%3D(\w+)/)[1];
  const dumps = [];
  for (let node = 0; node < pgCluster().nodes; node++) {
    dumps.push(await new Promise((resolve, reject) => {
      execFile('pg_dump', ['-h', pgCluster().dir, '-p', String(PG_PORT + node), '-U', 'postgres',
        '--data-only', '--inserts', ...tables.map((t) => ['-t', `${schema}.${t}*`]).flat(), 'postgres'],
      { maxBuffer: 256 << 20 },
      (error, stdout, stderr) => (error ? reject(new Error(`pg_dump: ${stderr}`)) : resolve(stdout)));
    }));
  }
  return dumps.join('\n');
}

/** `cyberid log events`: the operator opens the events (of one action)
 * for an inquiry; each citizen whose events are opened gets an event
 * log.events_read. Resolves the events, oldest first. */
export async function inquiry(data, action) {
  const result = await run(['log', 'events', '--data', data, '--legal-basis', 'test inquiry',
    ...(action ? ['--action', action] : [])]);
  if (result.code !== 0) throw new Error(`cyberid log events: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** 1 when bytes hold secret (a string or bytes) raw or as hex text. */
export function containsSecret(bytes, secret) {
  const raw = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  return bytes.indexOf(raw) !== -1 || bytes.indexOf(Buffer.from(raw.toString('hex'))) !== -1;
}

/** A string as an SQL literal. */
export const sqlText = (text) => `'${String(text).replaceAll("'", "''")}'`;

/** A new temporary folder; removed by the returned cleanup(). */
export async function tempDir(label) {
  const dir = await mkdtemp(path.join(tmpdir(), `cyberid-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A temporary folder holding an initialised data folder at ./data, on
 * the CYBERID_TEST_DB backend, its keys where CYBERID_TEST_KEYS says. */
export async function initDataDir(label) {
  const temp = await tempDir(label);
  const data = path.join(temp.dir, 'data');
  const database = backend === 'sqlite' ? [] : ['--db', await newPgDatabase()];
  const keys = keyStore === 'softhsm' ? (await softhsmToken(temp.dir)).initArgs : [];
  const result = await run(['init', '--data', data, ...database, ...keys]);
  if (result.code !== 0) throw new Error(`cyberid init failed: ${result.stderr}`);
  return { ...temp, data };
}

/** Starts a program of this tree that logs JSON lines on stderr and one
 * {"event": "listening", "port"} once it serves (`cyberid serve`,
 * `cyberid-witness serve`); resolves {url, port, logs, child, stop()}. */
export function startListening(file, args, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const logs = [];
    let pending = '';
    let started = false;
    const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        logs.push(line);
        let entry = null;
        try { entry = JSON.parse(line); } catch { /* sanitizer output */ }
        if (!started && entry && entry.event === 'listening') {
          started = true;
          const url = `http://127.0.0.1:${entry.port}`;
          resolve({
            url, port: entry.port, logs, child,
            async stop() {
              child.kill('SIGTERM');
              const result = await exited;
              if (pending) logs.push(pending);
              return result;
            },
          });
        }
      }
    });
    exited.then(({ code }) => {
      if (!started) reject(new Error(`${what} exited ${code}: ${logs.join('\n')}${pending}`));
    });
  });
}

/** Starts `cyberid serve`; resolves {url, port, logs, child, stop()}. */
export function startServer(data, extraArgs = []) {
  return startListening(binary, ['serve', '--data', data, '--listen', '127.0.0.1:0', ...extraArgs],
    'cyberid serve');
}

/** The memory of process pid (/proc/PID/maps, /proc/PID/mem): its
 * readable mappings, or only its writable ones, concatenated. Mappings
 * over 512 MiB are sanitizer shadow memory, not data, and are skipped;
 * unreadable ones (guard pages) too. */
export async function processMemory(pid, { writableOnly = false } = {}) {
  const maps = (await readFile(`/proc/${pid}/maps`, 'utf8')).trim().split('\n');
  const memory = await open(`/proc/${pid}/mem`, 'r');
  const parts = [];
  try {
    for (const line of maps) {
      const [range, perms] = line.split(/\s+/);
      if (!perms.startsWith(writableOnly ? 'rw' : 'r')) continue;
      if (line.includes('[vvar]') || line.includes('[vsyscall]')) continue;
      const [start, end] = range.split('-').map((hex) => BigInt(`0x${hex}`));
      const length = Number(end - start);
      if (length > 512 << 20) continue;
      const buffer = Buffer.alloc(length);
      try {
        const { bytesRead } = await memory.read(buffer, 0, length, Number(start)); // (a BigInt position fails with EIO)
        parts.push(buffer.subarray(0, bytesRead));
      } catch { /* a guard page */ }
    }
  } finally {
    await memory.close();
  }
  return Buffer.concat(parts);
}

/** Spends a limit that lets `size` requests through at once and refills
 * one a second: calls attempt(i) until it resolves an answer whose status
 * is not okStatus (at most size + 340 calls). A loaded machine (the
 * sanitizers, Citus, two test files at once) may take longer than a second
 * over the `size`, and the bucket refills meanwhile: asserts that at
 * least `size` and at most `size` plus the seconds that went by got
 * through, and resolves {accepted, refused} (refused: the first answer
 * that was not okStatus). */
export async function spendLimit(attempt, okStatus, size = 60, what = 'requests') {
  const started = Date.now();
  let accepted = 0, refused = null;
  while (refused === null && accepted < size + 340) {
    const answer = await attempt(accepted);
    if (answer.status === okStatus) accepted++;
    else refused = answer;
  }
  const refilled = Math.ceil((Date.now() - started) / 1000);
  assert.ok(accepted >= size && accepted <= size + refilled,
    `${accepted} ${what} before the limit (${size}, plus ${refilled} s of refill)`);
  assert.ok(refused !== null, `the ${what} were never refused`);
  return { accepted, refused };
}
