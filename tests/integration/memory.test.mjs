// Personal data does not linger in the service's memory: after a citizen
// enrolls (ID number, name and photos in the request), the test reads
// every writable mapping of the running `cyberid serve` (/proc/PID/maps,
// /proc/PID/mem) and finds neither the ID number, nor the name, nor the
// birth date. What it caught: libmicrohttpd's per-connection pool, through
// which the body passes, came from malloc() and stayed readable after the
// connection ended (src/http/server.c sizes it so that it is mapped and
// unmapped instead). Beside it the service wipes what it frees: request
// bodies, decoded images, and whatever jansson, cjose and OpenSSL free
// (src/util/wipe_alloc.c). The same search finds the issuer URL, which
// the process holds, so it does see what is there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { initDataDir, processMemory, startServer } from './lib/harness.mjs';
import { nationalId, importRegistry, preparePhotos, appEnroll } from './lib/citizen.mjs';

const person = { id: nationalId('110105', '1977-07-07', '073'), name: '欧阳记忆', birth: '1977-07-07', photo: 'img62.jpg' };

let temp, server;

before(async () => {
  temp = await initDataDir('memory');
  await importRegistry(temp, [person]);
  server = await startServer(temp.data);
});

after(async () => {
  if (server) {
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, server.logs.slice(-10).join('\n'));
  }
  if (temp) await temp.cleanup();
});

test('an enrollment leaves no ID number, name or birth date in the service\'s memory', {
  skip: process.platform !== 'linux' && 'reads /proc/PID/mem',
}, async () => {
  const photos = await preparePhotos(temp.dir);
  const enrolled = await appEnroll(server.url, path.join(temp.dir, 'wallet.json'), person, photos);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  // A request that keeps a value on purpose (the access log line's route
  // is in memory; an unknown route's raw path is not logged): search for
  // a marker that a live structure holds, the service's issuer URL.
  const memory = await processMemory(server.child.pid, { writableOnly: true });
  assert.ok(memory.includes(Buffer.from(server.url)), 'the search finds what the process holds');
  for (const [what, value] of [['ID number', person.id], ['name', person.name],
    ['birth date', person.birth.replaceAll('-', '')]]) {
    const at = memory.indexOf(Buffer.from(value, 'utf8'));
    assert.equal(at, -1, `the ${what} is in the service's memory at offset ${at}`);
  }
});
