// `make bench-enroll-oracle`: does the time an enrollment's refusal takes
// tell a stranger whether an ID number is in the registry? Against the
// real `cyberid serve` (SQLite), RUNS refusals each (default 40), taken in
// turn so that drift hits both alike, with the photos' person's selfie and
// head turn:
//   unknown: a valid ID number no record has;
//   known:   a record whose photo is another person (the face is not the
//            record's): the refusal a stranger gets for a real number.
// Both must answer identical bodies; the script prints the medians and
// the 10th/90th percentiles of each and their difference, and a
// Mann-Whitney U test's z (|z| < 2: the two timings cannot be told apart
// at 95 % on this many samples).
import assert from 'node:assert/strict';
import { initDataDir, startServer } from '../../tests/integration/lib/harness.mjs';
import {
  nationalId, importRegistry, preparePhotos, makeDeviceKey, enrollRequest,
} from '../../tests/integration/lib/citizen.mjs';

const runs = Number(process.env.RUNS || 40);
const temp = await initDataDir('bench-oracle');
const known = { id: nationalId('440524', '1975-11-30', '012'), name: '张敏', birth: '1975-11-30', photo: 'img35.jpg' };
const unknown = { id: nationalId('110105', '1985-01-01', '019'), name: 'Nobody', birth: '1985-01-01' };
await importRegistry(temp, [known]);
const photos = await preparePhotos(temp.dir);
// One device key per attempt, a loopback address per 40 attempts (each
// address's first 60 are free): the limits are not what is timed.
const keys = await Promise.all([...Array(2 * runs + 2).keys()].map((i) => makeDeviceKey(temp.dir, `k${i}`)));
const server = await startServer(temp.data, ['--challenges-per-address', '0']);
const times = { unknown: [], known: [] };
try {
  let used = 0;
  const once = async (person) => {
    const started = process.hrtime.bigint();
    const address = `127.0.0.${10 + Math.floor(used / 40)}`;
    const result = await enrollRequest(server.url, person, photos, keys[used++], () => {}, null, address);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(result.status, 403, result.text);
    return { ms, body: result.text };
  };
  // Warm up both paths once, untimed.
  const a = await once(unknown);
  const b = await once(known);
  assert.equal(a.body, b.body, 'the same answer');
  for (let i = 0; i < runs; i++) {
    for (const [name, person] of i % 2 ? [['unknown', unknown], ['known', known]] : [['known', known], ['unknown', unknown]]) {
      times[name].push((await once(person)).ms);
    }
  }
} finally {
  await server.stop();
  await temp.cleanup();
}
// (the challenge request is inside each timing: the same for both)
const quantile = (list, q) => { const s = [...list].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const u = (() => {
  const all = [...times.unknown.map((v) => [v, 0]), ...times.known.map((v) => [v, 1])].sort((x, y) => x[0] - y[0]);
  let rankSum = 0;
  all.forEach(([, group], i) => { if (group === 0) rankSum += i + 1; });
  const n1 = times.unknown.length, n2 = times.known.length;
  const U = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2, sd = Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
  return (U - mean) / sd;
})();
for (const name of ['unknown', 'known']) {
  console.log(`${name.padEnd(8)} p10 ${quantile(times[name], 0.1).toFixed(1)} ms  median ${quantile(times[name], 0.5).toFixed(1)} ms  p90 ${quantile(times[name], 0.9).toFixed(1)} ms  (${times[name].length} refusals)`);
}
const difference = quantile(times.unknown, 0.5) - quantile(times.known, 0.5);
console.log(`median difference (unknown - known): ${difference.toFixed(1)} ms; Mann-Whitney z = ${u.toFixed(2)} ` +
  `(${Math.abs(u) < 2 ? 'cannot be told apart at 95 %' : 'DIFFERENT at 95 %'})`);
