// The operator's commands end to end on a real data folder: init, registry
// import (good and bad rows, idempotent, no plaintext at rest) and platform
// add/list/disable/enable. Each import is an audit event with counts only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, symlink, stat, readdir } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  run, initDataDir, tempDir, sharedDir, sql, backend, newPgDatabase, databaseCopy, containsSecret,
  pgCluster, psql,
} from './lib/harness.mjs';

test('init creates a private data folder and refuses to overwrite it', async () => {
  const temp = await tempDir('init');
  try {
    const data = path.join(temp.dir, 'data');
    const first = await run(['init', '--data', data]);
    assert.equal(first.code, 0, first.stderr);
    const info = JSON.parse(first.stdout);
    assert.equal(info.data, data);
    assert.equal((await stat(data)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(data, 'keys'))).mode & 0o777, 0o700);
    for (const key of await readdir(path.join(data, 'keys'))) {
      assert.equal((await stat(path.join(data, 'keys', key))).mode & 0o777, 0o600, key);
    }
    assert.equal((await stat(path.join(data, 'cyberid.db'))).mode & 0o077, 0);
    assert.equal((await stat(path.join(data, 'config.json'))).mode & 0o777, 0o600);
    const again = await run(['init', '--data', data]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /refusing to overwrite/);
    const usage = await run(['init']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^cyberid init: --data DIR is required\n/);
    // Usage errors say what is missing or wrong, by name, and exit 2.
    const usageErrors = [
      [['init', '--data', data, 'extra'], /unexpected argument extra/],
      [['init', '--data'], /an option is unknown or lacks its value/],
      [['init', '--data', path.join(temp.dir, 'hsm'), '--pkcs11-module', '/usr/lib/softhsm/libsofthsm2.so'],
        /--pkcs11-module, --pkcs11-token and --pkcs11-pin-file go together/],
      [['keys', 'list'], /--data DIR is required/],
      [['keys', 'list', '--data', data, '--activate-in', '5'], /--activate-in goes with rotate only/],
      [['registry', 'import', '--data', data], /the CSV file to import is missing/],
      [['platform', 'disable', '--data', data], /disable needs the CLIENT_ID/],
      [['platform', 'frobnicate', '--data', data], /unknown action frobnicate/],
      [['identity', 'suspend', '--data', data, '0000000000000000', '--reason', 'court_order'],
        /suspend needs --legal-basis TEXT/],
      [['identity', 'suspend', '--data', data, '0000000000000000', '--reason', 'court_order',
        '--legal-basis', 'Act 1'], /suspend needs --until DATE: every suspension has an end/],
      [['identity', 'suspend', '--data', data, '0000000000000000', '--reason', 'court_order',
        '--legal-basis', 'Act 1', '--until', 'tomorrow'], /--until takes YYYY-MM-DD/],
      [['identity', 'show', '--data', data], /the WEB_NUMBER is missing/],
      [['serve'], /--data DIR is required/],
    ];
    for (const [args, message] of usageErrors) {
      const result = await run(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
  } finally {
    await temp.cleanup();
  }
});

test('a copied or moved data folder uses its own SQLite database, wherever it is run from', async () => {
  const temp = await tempDir('copy');
  try {
    const original = path.join(temp.dir, 'original');
    assert.equal((await run(['init', '--data', original])).code, 0);
    const config = JSON.parse(await readFile(path.join(original, 'config.json'), 'utf8'));
    assert.deepEqual(config, { format: 2, database: 'sqlite:cyberid.db' });
    const copy = path.join(temp.dir, 'copy');
    await cpTree(original, copy);
    const added = await run(['platform', 'add', '--data', 'copy', '--name', 'Shop',
      '--redirect-uri', 'https://shop.example/cb'], { cwd: temp.dir });
    assert.equal(added.code, 0, added.stderr);
    const listed = async (data) => JSON.parse((await run(['platform', 'list', '--data', data])).stdout);
    assert.equal((await listed(copy)).length, 1);
    assert.equal((await listed(original)).length, 0, 'the copy wrote into its own database');
    // A format 1 config (the path as given to init, relative to a working
    // directory long gone) is read as the folder's own database.
    await writeFile(path.join(copy, 'config.json'),
      JSON.stringify({ format: 1, database: 'sqlite:somewhere/else/cyberid.db' }));
    assert.equal((await listed(copy)).length, 1);
  } finally {
    await temp.cleanup();
  }
});

test('init --db records a PostgreSQL database, refuses a password in the URI and a database in use', {
  skip: backend === 'sqlite' && 'CYBERID_TEST_DB=sqlite',
}, async () => {
  const temp = await tempDir('init-db');
  try {
    const uri = await newPgDatabase();
    const withPassword = uri.replace('postgres@', 'postgres:hunter2hunter2@');
    const refused = await run(['init', '--data', path.join(temp.dir, 'a'), '--db', withPassword]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /password file/);
    assert.ok(!refused.stderr.includes('hunter2'), 'the password is not repeated');
    await assert.rejects(stat(path.join(temp.dir, 'a')), 'nothing was created');

    const nodeA = path.join(temp.dir, 'node-a');
    const made = await run(['init', '--data', nodeA, '--db', uri]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(JSON.parse(made.stdout).database, uri);
    assert.equal(JSON.parse(await readFile(path.join(nodeA, 'config.json'), 'utf8')).database, uri);
    await assert.rejects(stat(path.join(nodeA, 'cyberid.db')), 'no SQLite file beside PostgreSQL');

    const second = await run(['init', '--data', path.join(temp.dir, 'b'), '--db', uri]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already holds a cyberid schema/);

    // A copy of the folder is a second node on the same database.
    const nodeB = path.join(temp.dir, 'node-b');
    await cpTree(nodeA, nodeB);
    assert.equal((await run(['platform', 'add', '--data', nodeB, '--name', 'Shop',
      '--redirect-uri', 'https://shop.example/cb'])).code, 0);
    assert.equal(JSON.parse((await run(['platform', 'list', '--data', nodeA])).stdout).length, 1);
  } finally {
    await temp.cleanup();
  }
});

test('a database password reaches PostgreSQL through a password file, and nowhere else', {
  skip: backend === 'sqlite' && 'CYBERID_TEST_DB=sqlite',
}, async () => {
  // tests/lib/pg-cluster.sh makes the coordinator ask this one role for
  // its password (scram-sha-256); every other role is trusted.
  const temp = await tempDir('passfile');
  try {
    const password = randomBytes(12).toString('hex');
    const schema = `t_${randomBytes(6).toString('hex')}`;
    await psql(pgCluster().uri(null), ['-q', '-c',
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cyberid_password_test') THEN ` +
      'CREATE ROLE cyberid_password_test LOGIN SUPERUSER; END IF; END $$;',
      '-c', `ALTER ROLE cyberid_password_test PASSWORD '${password}'`, '-c', `CREATE SCHEMA ${schema}`]);
    const passfile = path.join(temp.dir, 'pgpass');
    await writeFile(passfile, `*:*:*:cyberid_password_test:${password}\n`, { mode: 0o600 });
    const base = pgCluster().uri(schema).replace('postgres@', 'cyberid_password_test@');
    const data = path.join(temp.dir, 'data');
    const withFile = `${base}&passfile=${encodeURIComponent(passfile)}`;
    const made = await run(['init', '--data', data, '--db', withFile], { env: { ...process.env, PGPASSFILE: '' } });
    assert.equal(made.code, 0, made.stderr);
    const config = await readFile(path.join(data, 'config.json'), 'utf8');
    assert.ok(config.includes('passfile='), 'the URI names the file');
    assert.ok(!config.includes(password), 'the password is not in config.json');
    assert.ok(!made.stdout.includes(password) && !made.stderr.includes(password));
    const listed = await run(['platform', 'list', '--data', data], { env: { ...process.env, PGPASSFILE: '' } });
    assert.equal(listed.code, 0, listed.stderr);
    // Without the file the server refuses, and the error says why.
    const refused = await run(['init', '--data', path.join(temp.dir, 'other'), '--db', base],
      { env: { ...process.env, PGPASSFILE: path.join(temp.dir, 'none') } });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /password/);
  } finally {
    await temp.cleanup();
  }
});

/** cp -a */
async function cpTree(from, to) {
  const result = await new Promise((resolve) => {
    execFile('cp', ['-a', from, to], (error, stdout, stderr) => resolve({ error, stderr }));
  });
  assert.equal(result.error, null, result.stderr);
}

const people = [
  ['11010519491231002X', '张三', '1949-12-31'],
  ['440524188001010014', 'Li Si', '1880-01-01'],
  ['110105200001010016', '欧阳娜娜', '2000-01-01'],
];

async function writeRegistry(dir, rows) {
  await symlink(path.join(sharedDir, 'faces', 'deepface'), path.join(dir, 'photos')).catch(() => {});
  const csv = path.join(dir, 'registry.csv');
  await writeFile(csv, ['national_id,name,birth_date,photo', ...rows].join('\n') + '\n');
  return csv;
}

test('registry import: good rows in, bad rows reported by line, idempotent, encrypted', async () => {
  const temp = await initDataDir('registry');
  try {
    const csv = await writeRegistry(temp.dir, [
      `${people[0].join(',')},photos/img1.jpg`,
      '110105194912310021,Wrong Check,1949-12-31,photos/img1.jpg',
      `${people[1].join(',')},photos/img2.jpg`,
      '12345,Too Short,1949-12-31,photos/img1.jpg',
      '11010519490230002X,Bad Date,1949-02-30,photos/img1.jpg',
      `${people[2].join(',')},photos/img3.jpg`,
      '440524188001010014,Li Si,1880-01-01,photos/no-such-photo.jpg',
    ]);
    const first = await run(['registry', 'import', '--data', temp.data, csv]);
    assert.equal(first.code, 1, 'rejected rows make the exit status 1');
    const report = JSON.parse(first.stdout);
    assert.equal(report.rows, 7);
    assert.equal(report.inserted, 3);
    assert.equal(report.rejected, 4);
    assert.deepEqual(report.rejections.map((r) => [r.line, r.error]), [
      [3, 'invalid_check_character'],
      [5, 'invalid_length'],
      [6, 'invalid_birth_date'],
      [8, 'photo_not_found'],
    ]);
    // The report names lines and reasons, never the people.
    for (const [id, name] of people) {
      assert.ok(!first.stdout.includes(id) && !first.stdout.includes(name));
    }
    assert.match(first.stderr, /4 rows were rejected \(see "rejections"\); 3 imported/);

    const clean = await writeRegistry(temp.dir, people.map((p, i) => `${p.join(',')},photos/img${i + 1}.jpg`));
    const second = await run(['registry', 'import', '--data', temp.data, clean]);
    assert.equal(second.code, 0, second.stderr);
    const again = JSON.parse(second.stdout);
    assert.equal(again.inserted, 0);
    assert.equal(again.updated, 3);

    // A copy of the database holds no name, ID number or birth date.
    const copy = await databaseCopy(temp.data);
    assert.ok(copy.includes(Buffer.from('registry_person')), 'the copy is a copy of the database');
    for (const [id, name, birth] of people) {
      for (const secret of [id, name, birth]) {
        assert.equal(containsSecret(copy, secret), false, `a copy of the database holds ${secret}`);
      }
    }

    // Each import (the one with bad rows too: its good rows went in) is one
    // audit event `registry.import` by the operator, whose details are the
    // counts and nothing else: no name, ID number or birth date, not even
    // of the rejected rows.
    const events = await sql(temp.data, 'SELECT sequence, time, actor, action, subject, details' +
      " FROM audit_event WHERE action = 'registry.import' ORDER BY sequence");
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.deepEqual(events.map((e) => JSON.parse(e.details)), [
      { rows: 7, inserted: 3, updated: 0, rejected: 4 },
      { rows: 3, inserted: 0, updated: 3, rejected: 0 },
    ]);
    const now = Math.floor(Date.now() / 1000);
    const rejected = ['110105194912310021', 'Wrong Check', '12345', 'Too Short', '11010519490230002X',
      'Bad Date', '1949-02-30'];
    for (const event of events) {
      assert.equal(event.actor, 'operator');
      assert.equal(event.subject, 'registry');
      assert.ok(Math.abs(event.time - now) < 300, `time ${event.time}`);
      for (const secret of [...people.flat(), ...people.map((p) => p[0].slice(6, 14)), ...rejected]) {
        assert.ok(!`${event.actor} ${event.subject} ${event.details}`.includes(secret),
          `the audit event holds ${secret}`);
      }
    }
    // Every row rejected: the message says nothing went in.
    const allBad = await writeRegistry(temp.dir, ['12345,Too Short,1949-12-31,photos/img1.jpg']);
    const none = await run(['registry', 'import', '--data', temp.data, allBad]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /every row \(1\) was rejected .*nothing was imported/);
    assert.doesNotMatch(none.stderr, /others were imported/);
  } finally {
    await temp.cleanup();
  }
});

test('registry import refuses a file with a wrong header and imports nothing', async () => {
  const temp = await initDataDir('registry-header');
  try {
    const csv = path.join(temp.dir, 'bad.csv');
    await writeFile(csv, 'id,name\n11010519491231002X,张三\n');
    const result = await run(['registry', 'import', '--data', temp.data, csv]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /header/);
    assert.match(result.stderr, /nothing was imported/);
    const missing = await run(['registry', 'import', '--data', temp.data, path.join(temp.dir, 'none.csv')]);
    assert.equal(missing.code, 1);
    // Nothing imported, nothing audited.
    assert.deepEqual(await sql(temp.data, 'SELECT COUNT(*) AS n FROM registry_person'), [{ n: 0 }]);
    assert.deepEqual(await sql(temp.data,
      "SELECT COUNT(*) AS n FROM audit_event WHERE action = 'registry.import'"), [{ n: 0 }]);
    const noData = await run(['registry', 'import', '--data', path.join(temp.dir, 'nope'), csv]);
    assert.equal(noData.code, 1);
    assert.match(noData.stderr, /cyberid init/);
  } finally {
    await temp.cleanup();
  }
});

test('platform add, list, disable, enable', async () => {
  const temp = await initDataDir('platform');
  try {
    const added = await run(['platform', 'add', '--data', temp.data, '--name', 'Example Shop',
      '--redirect-uri', 'https://shop.example/callback', '--redirect-uri', 'https://shop.example/cb2',
      '--claims', 'realname_verified,age_over_18']);
    assert.equal(added.code, 0, added.stderr);
    const platform = JSON.parse(added.stdout);
    assert.match(platform.client_id, /^[A-Za-z0-9_-]{22}$/);
    assert.match(platform.client_secret, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(platform.claims, ['realname_verified', 'age_over_18']);
    assert.equal(platform.sector_identifier, `client:${platform.client_id}`, 'a sector of its own');

    // The secret is stored hashed only.
    assert.equal(containsSecret(await databaseCopy(temp.data), platform.client_secret), false);

    const refused = await run(['platform', 'add', '--data', temp.data, '--name', 'Bank',
      '--redirect-uri', 'https://bank.example/cb', '--claims', 'national_id']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /legal-basis/);
    const plainHttp = await run(['platform', 'add', '--data', temp.data, '--name', 'X',
      '--redirect-uri', 'http://shop.example/cb']);
    assert.equal(plainHttp.code, 1);
    assert.match(plainHttp.stderr, /https/);

    // A sector_identifier_uri (OIDC Core 8.1), fetched by the command: it
    // must list every redirect URI; the sector is its host.
    const uris = ['https://app.example/cb', 'https://m.example/cb'];
    let served = JSON.stringify(uris.slice(0, 1));
    const documentServer = http.createServer((request, response) => {
      response.writeHead(request.url === '/sector.json' ? 200 : 404, { 'content-type': 'application/json' });
      response.end(served);
    });
    await new Promise((resolve) => documentServer.listen(0, '127.0.0.1', resolve));
    const sectorUri = `http://127.0.0.1:${documentServer.address().port}/sector.json`;
    const withUri = (uri) => run(['platform', 'add', '--data', temp.data, '--name', 'Sector App',
      '--redirect-uri', uris[0], '--redirect-uri', uris[1], '--sector-identifier-uri', uri]);
    try {
      let sectored = await withUri(sectorUri);
      assert.equal(sectored.code, 1);
      assert.match(sectored.stderr, /does not list https:\/\/m\.example\/cb/);
      assert.match((await withUri(`${sectorUri}.missing`)).stderr, /HTTP 404/);
      assert.equal((await withUri('http://sector.example/x.json')).code, 2, 'plain http off loopback');
      served = JSON.stringify(uris);
      sectored = await withUri(sectorUri);
      assert.equal(sectored.code, 0, sectored.stderr);
      assert.equal(JSON.parse(sectored.stdout).sector_identifier, '127.0.0.1');
      await run(['platform', 'disable', '--data', temp.data, JSON.parse(sectored.stdout).client_id]);
    } finally {
      documentServer.close();
    }

    const list = JSON.parse((await run(['platform', 'list', '--data', temp.data])).stdout)
      .filter((p) => p.name !== 'Sector App');
    assert.equal(list.length, 1);
    assert.equal(list[0].client_id, platform.client_id);
    assert.equal(list[0].disabled, false);
    assert.equal(list[0].client_secret, undefined);

    assert.equal((await run(['platform', 'disable', '--data', temp.data, platform.client_id])).code, 0);
    const disabled = JSON.parse((await run(['platform', 'list', '--data', temp.data])).stdout);
    assert.equal(disabled[0].disabled, true);
    assert.equal((await run(['platform', 'enable', '--data', temp.data, platform.client_id])).code, 0);
    const unknown = await run(['platform', 'disable', '--data', temp.data, 'no-such-client']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no platform/);
  } finally {
    await temp.cleanup();
  }
});
