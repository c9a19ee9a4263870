import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NESTING, scanRecordLine, withoutRepeatedMembers } from './record-line.ts';

const fakerLine =
  '{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"John","age":53,"height":"1.78","address":{"city":"Bowling Green","postal_code":"76366"}},"emitted_at":1795917597528}}';

/** What the full parse makes of a RECORD line: its stream and data. */
function parsed(line: string): { stream: unknown; data: unknown } {
  const m = JSON.parse(line) as { type: unknown; record: { stream: unknown; data: unknown } };
  assert.equal(m.type, 'RECORD');
  return { stream: m.record.stream, data: m.record.data };
}

/** Asserts the fast path takes `line` and gives exactly the full parse's stream and data. */
function assertTaken(line: string, dataText: string): void {
  const r = scanRecordLine(line);
  assert.ok(r, `the fast path should take ${line}`);
  assert.equal(r.data, dataText);
  assert.deepEqual({ stream: r.stream, data: JSON.parse(r.data) as unknown }, parsed(line));
}

test("a connector's compact RECORD line: the stream, and the data's text sliced out as it is", () => {
  const r = scanRecordLine(fakerLine);
  assert.deepEqual(r, {
    stream: 'users',
    data: '{"id":1,"name":"John","age":53,"height":"1.78","address":{"city":"Bowling Green","postal_code":"76366"}}',
    nonFinite: 0,
    loneSurrogates: 0,
  });
});

test('data need not be the last member, nor type the first; other members of any kind are passed over', () => {
  const data = '{"id":2,"tags":["a","b"],"score":-1.5e-3,"ok":true,"none":null,"empty":{},"list":[]}';
  assertTaken(`{"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":${data}}}`, data);
  assertTaken(`{"record":{"data":${data},"stream":"users","namespace":null,"meta":{"changes":[{"field":"x"}]}},"type":"RECORD"}`, data);
  assertTaken(`{"type":"RECORD","record":{"stream":"users","data":${data},"emitted_at":1.7e12}}`, data);
});

test('escaped quotes, backslashes, control characters and unicode inside data strings are kept verbatim', () => {
  const data = String.raw`{"q":"say \"hi\"","path":"C:\\dir\\","nl":"a\nb\tc\r\u0000","uni":"\u00e9\ud83d\ude00","raw":"é😀 ☃","slash":"a\/b","key \"x\"":1}`;
  assertTaken(`{"type":"RECORD","record":{"stream":"users","data":${data}}}`, data);
  const r = scanRecordLine(`{"type":"RECORD","record":{"stream":"users","data":${data}}}`);
  assert.equal((JSON.parse(r?.data ?? '{}') as Record<string, unknown>)['uni'], 'é😀');
});

test('numbers are kept as the connector wrote them (no loss of precision above 2^53)', () => {
  const data = '{"big":12345678901234567890,"f":1.0,"e":1E+2,"neg":-0}';
  const r = scanRecordLine(`{"type":"RECORD","record":{"stream":"s","data":${data}}}`);
  assert.equal(r?.data, data);
});

test(`objects and arrays nested deeper than the regular expression's ${MAX_NESTING} levels are taken too, their numbers as written`, () => {
  let deep = '9007199254740993';
  for (let i = 1; i < MAX_NESTING; i++) deep = i % 2 ? `[${deep}]` : `{"k":${deep}}`;
  const ok = `{"a":${deep},"b":2}`;
  assertTaken(`{"type":"RECORD","record":{"stream":"s","data":${ok}}}`, ok);
  // Before, such records took the full parse, which rounded every integer above 2^53 in them (QA round 8).
  let deeper = deep;
  for (let i = 0; i < 60; i++) deeper = i % 2 ? `[${deeper}, {}]` : `{"k": ${deeper}, "l": []}`;
  const data = `{"big":9007199254740993,"deep":${deeper}}`;
  const r = scanRecordLine(`{"type":"RECORD","record":{"stream":"s","data":${data}}}`);
  assert.ok(r);
  assert.equal(r.data, data.replace(/ /g, ''));
  assert.deepEqual(JSON.parse(r.data), parsed(`{"type":"RECORD","record":{"stream":"s","data":${data}}}`).data);
});

test("Python's NaN, Infinity and -Infinity are taken, as strings, and counted; elsewhere in the message too", () => {
  const line = '{"type": "RECORD", "record": {"stream": "inf", "data": {"id": 2, "x": Infinity, "y": [-Infinity, {"z": NaN}], "s": "NaN"}, "emitted_at": NaN}}';
  assert.deepEqual(scanRecordLine(line), { stream: 'inf', data: '{"id":2,"x":"Infinity","y":["-Infinity",{"z":"NaN"}],"s":"NaN"}', nonFinite: 3, loneSurrogates: 0 });
  for (const bad of ['{"x":Inf}', '{"x":nan}', '{"x":-NaN}', '{"x":Infinityy}', '{"x":+Infinity}']) {
    assert.equal(scanRecordLine(`{"type":"RECORD","record":{"stream":"s","data":${bad}}}`), undefined, bad);
  }
});

test('an escaped surrogate without its other half becomes U+FFFD and is counted; pairs and escaped backslashes stay', () => {
  const data = String.raw`{"cut":"lone \ud83d end","low":"\uDE00","pair":"\ud83d\ude00","both":"\ud83d\ud83d\ude00","bs":"\\ud83d","tail":"\ud83d"}`;
  const r = scanRecordLine(`{"type":"RECORD","record":{"stream":"s","data":${data}}}`);
  assert.ok(r);
  assert.equal(r.loneSurrogates, 4);
  const got = JSON.parse(r.data) as Record<string, string>;
  assert.deepEqual(got, { cut: 'lone \ufffd end', low: '\ufffd', pair: '😀', both: '\ufffd😀', bs: '\\ud83d', tail: '\ufffd' });
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;
  assert.ok(Object.values(got).every((v) => !lone.test(v)), 'every string is well-formed UTF-16: DuckDB reads the staged file');
});

test('whitespace around the message members is fine; data written with spaces is taken compacted, numbers and strings as written', () => {
  const data = '{"id":1}';
  assertTaken(` \t{ "type" : "RECORD" ,\n"record" : { "stream" : "users" , "data" : ${data} , "emitted_at" : 1 } }\r`, data);
  // As Python's json.dumps writes by default; before, the full parse took it and rounded the big integer.
  const spaced = '{"type": "RECORD", "record": {"stream": "users", "data": {"id": 9223372036854775808, "s": "a b\\" c", "a": [1, 2.50]}}}';
  assert.deepEqual(scanRecordLine(spaced), { stream: 'users', data: '{"id":9223372036854775808,"s":"a b\\" c","a":[1,2.50]}', nonFinite: 0, loneSurrogates: 0 });
  assert.deepEqual(JSON.parse(scanRecordLine(spaced)?.data ?? ''), (JSON.parse(spaced) as { record: { data: unknown } }).record.data);
});

test('a RECORD without data, with data that is not an object, or without a string stream is left to the full parse', () => {
  for (const record of [
    '{"stream":"users"}',
    '{"stream":"users","data":null}',
    '{"stream":"users","data":[1,2]}',
    '{"stream":"users","data":"{}"}',
    '{"data":{"id":1}}',
    '{"stream":7,"data":{"id":1}}',
    '{}',
  ]) {
    const line = `{"type":"RECORD","record":${record}}`;
    JSON.parse(line);
    assert.equal(scanRecordLine(line), undefined, line);
  }
  assert.equal(scanRecordLine('{"type":"RECORD","record":null}'), undefined);
  assert.equal(scanRecordLine('{"type":"RECORD"}'), undefined);
  assert.equal(scanRecordLine('{"record":{"stream":"users","data":{"id":1}}}'), undefined, 'no type');
});

test('other message types are left to the full parse', () => {
  for (const line of [
    '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"seq":1}}}}',
    '{"type":"LOG","log":{"level":"INFO","message":"hello"}}',
    '{"type":"TRACE","trace":{"type":"STREAM_STATUS","stream_status":{"stream_descriptor":{"name":"users"},"status":"COMPLETE"}}}',
    '{"type":"record","record":{"stream":"users","data":{"id":1}}}',
    '{"type":"RECORDS","record":{"stream":"users","data":{"id":1}}}',
    '{"type":1,"record":{"stream":"users","data":{"id":1}}}',
  ]) {
    assert.equal(scanRecordLine(line), undefined, line);
  }
});

test('repeated members count as JSON.parse counts them: the last one', () => {
  assert.equal(scanRecordLine('{"type":"RECORD","record":{"stream":"users","data":{"id":1}},"type":"LOG"}'), undefined);
  // before: an earlier type that was not RECORD left the line to the full parse, which rounded
  // its integers above 2^53 (QA round 30a F3)
  assertTaken('{"type":"STATE","type":"RECORD","record":{"stream":"t","data":{"id":9007199254741001}}}', '{"id":9007199254741001}');
  assertTaken('{"type":1,"type":"RECORD","record":{"stream":"t","data":{"id":1}}}', '{"id":1}');
  assert.equal(scanRecordLine('{"type":"RECORD","type":{"a":1},"record":{"stream":"users","data":{"id":1}}}'), undefined);
  assertTaken('{"type":"RECORD","record":{"stream":"a","data":{"id":1}},"record":{"stream":"b","data":{"id":2}}}', '{"id":2}');
  assertTaken('{"type":"RECORD","record":{"stream":"a","stream":"b","data":{"id":1},"data":{"id":2}}}', '{"id":2}');
  // The later "record" has no data: the earlier one's must not be used.
  assert.equal(scanRecordLine('{"type":"RECORD","record":{"stream":"a","data":{"id":1}},"record":{"stream":"b"}}'), undefined);
  assert.equal(scanRecordLine('{"type":"RECORD","record":{"stream":"a","data":{"id":1},"data":null}}'), undefined);
});

test("escaped member names, an escaped type and an escaped stream name (Python's json.dumps writes Ünï as \\u00dcn\\u00ef) are decoded, and data keeps its digits", () => {
  // before: left to the full parse, which rounded integers above 2^53 (QA round 29)
  const data = '{"id":9007199254740993,"o":{"k":123456789012345678901234567890},"z":-0.0}';
  for (const line of [
    String.raw`{"type":"RECORD","record":{"stream":"users","d\u0061ta":DATA}}`,
    String.raw`{"type":"RECORD","record":{"stream":"us\u0065rs","data":DATA}}`,
    String.raw`{"type":"RECOR\u0044","record":{"stream":"users","data":DATA}}`,
    String.raw`{"t\u0079pe":"RECORD","record":{"stream":"users","data":DATA}}`,
  ]) {
    assertTaken(line.replace('DATA', data), data);
  }
  assertTaken(String.raw`{"type":"RECORD","record":{"stream":"\u00dcn\u00ef","data":DATA}}`.replace('DATA', data), data);
  assert.equal(scanRecordLine(String.raw`{"type":"RECORD","record":{"stream":"\u00dcn\u00ef","data":{"id":1}}}`)?.stream, 'Ünï');
  assert.equal(scanRecordLine(String.raw`{"type":"RECORD","record":{"stream":"a\/b \"q\"","data":{"id":1}}}`)?.stream, 'a/b "q"');
  // An escaped type that is not RECORD once decoded is not taken.
  assert.equal(scanRecordLine(String.raw`{"type":"REC\u004fRDS","record":{"stream":"users","data":{"id":1}}}`), undefined);
});

test("a record whose data is not an object (an array, a string, null) is left to the full parse, which drops it", () => {
  for (const data of ['["123-45-6789",{"ssn":"987-65-4321"}]', '"text"', 'null', '12']) {
    assert.equal(scanRecordLine(`{"type":"RECORD","record":{"stream":"s","data":${data}}}`), undefined, data);
  }
});

test('lines that are not JSON are never taken', () => {
  const bad = [
    '',
    'this is not json',
    fakerLine.slice(0, -1),
    `${fakerLine}x`,
    `${fakerLine},`,
    `${fakerLine}{}`,
    '{"type":"RECORD","record":{"stream":"users","data":{"id":1,}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":1}},}',
    '{"type":"RECORD","record":{"stream":"users","data":{,"id":1}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":1"x":2}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id" 1}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":[1,]}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":[1}}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":{"a":1]}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{id:1}}}',
    "{'type':'RECORD','record':{'stream':'users','data':{'id':1}}}",
    '{"type":"RECORD","record":{"stream":"users","data":{"id":01}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":1.}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":.5}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":+1}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":-}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":1e}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":0x10}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":tru}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":True}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":"a\tb"}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":"a\\x41"}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":"\\u12G4"}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":"\\"}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":"abc}}}',
    '{"type":"RECORD","record":{"stream":"users","data":{"id":1}}',
    '{"type":"RECORD","record":{"stream":"us\ters","data":{"id":1}}}',
    '\uFEFF{"type":"RECORD","record":{"stream":"users","data":{"id":1}}}',
  ];
  for (const line of bad) {
    assert.throws(() => JSON.parse(line), SyntaxError, `JSON.parse should refuse ${JSON.stringify(line)}`);
    assert.equal(scanRecordLine(line), undefined, JSON.stringify(line));
  }
});

test('a string with millions of escapes is taken as written, with the digits of the numbers beside it', () => {
  // before: the expression engine's stack overflowed, and the full parse rounded the id (QA round 29)
  const data = `{"id":9007199254740995,"text":"${'\\u00e9'.repeat(3_000_000)}","tail":"${'a\\n'.repeat(2_000_000)}"}`;
  const line = `{"type":"RECORD","record":{"stream":"s","data":${data}}}`;
  const r = scanRecordLine(line);
  assert.ok(r);
  assert.equal(r.data, data);
  assert.equal((parsed(line).data as { text: string }).text.length, 3_000_000);
  // Repeated members are found in such a record too (stage's rewrite on DuckDB's refusal).
  assert.equal(withoutRepeatedMembers(`{"a":"${'\\n'.repeat(3_000_000)}","b":1,"a":2}`), '{"b":1,"a":2}');
});

/** A small deterministic PRNG (mulberry32), so a failure can be reproduced. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz: on random records and random corruptions of them, every answer agrees with JSON.parse', () => {
  const rnd = random(20261129);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const chars = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', 'é', '😀', '\u0001', '\u2028', '{', '}', '[', ']', ':', ','];
  const randomValue = (depth: number): unknown => {
    const k = rnd();
    if (depth > 0 && k < 0.15) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(depth - 1));
    if (depth > 0 && k < 0.3) return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [pick(['a', 'b', 'c d', 'é']), randomValue(depth - 1)]));
    if (k < 0.6) return Array.from({ length: Math.floor(rnd() * 8) }, () => pick(chars)).join('');
    if (k < 0.8) return pick([0, -1, 3.25, 1e21, -2.5e-7, 123456789]);
    return pick([true, false, null]);
  };
  const mutations = ['', '"', '\\', ',', ':', '{', '}', '[', ']', ' ', 'e', '-', '.', '0', 'x', '\u0000', 'n'];
  let taken = 0;
  let lines = 0;
  for (let n = 0; n < 3000; n++) {
    const data = Object.fromEntries(Array.from({ length: 1 + Math.floor(rnd() * 5) }, (_, i) => [`f${i}`, randomValue(3)]));
    const valid = JSON.stringify({ type: 'RECORD', record: { stream: pick(['users', 'a b']), data, emitted_at: n } });
    const variants = [valid];
    for (let m = 0; m < 10; m++) {
      const at = Math.floor(rnd() * valid.length);
      const del = Math.floor(rnd() * 3);
      variants.push(valid.slice(0, at) + pick(mutations) + valid.slice(at + del));
    }
    for (const line of variants) {
      lines += 1;
      const r = scanRecordLine(line);
      if (!r) continue;
      taken += 1;
      assert.ok(!r.data.includes('\n'), 'a staged record is one line');
      assert.deepEqual({ stream: r.stream, data: JSON.parse(r.data) as unknown }, parsed(line), line);
    }
    assert.ok(scanRecordLine(valid), `a compact valid line is taken: ${valid}`);
  }
  // Most corruptions break the JSON; the fast path must still have taken every valid line and some harmless variants.
  assert.ok(taken >= 3000 && taken < lines, `${taken} of ${lines} lines taken`);
});

test("a record's repeated member names are kept once, with their last value, as JSON.parse reads them", () => {
  const cases: [string, string | undefined][] = [
    ['{"id":1,"name":"a"}', undefined],
    ['{}', undefined],
    ['{"id":1,"name":"a","name":"b"}', '{"id":1,"name":"b"}'],
    // The last one counts, where it stands among the others; values of any kind and depth, whitespace.
    ['{"name":{"x":[1,{"y":2}]}, "id" : 9007199254740993 ,"name":null}', '{"id":9007199254740993,"name":null}'],
    // Names are compared as JSON reads them, and case counts.
    ['{"name":"a","\\u006eame":"b","Name":"c"}', '{"\\u006eame":"b","Name":"c"}'],
    // A repeat inside a value is that value's text.
    ['{"o":{"k":1,"k":2},"p":3}', undefined],
    ['{"deep":[[[[[[[[1]]]]]]]],"deep":2}', '{"deep":2}'],
    ['not json', undefined],
    ['{"a":1,', undefined],
  ];
  for (const [data, want] of cases) {
    const got = withoutRepeatedMembers(data);
    assert.equal(got, want, data);
    if (got !== undefined) assert.deepEqual(JSON.parse(got), JSON.parse(data), 'what JSON.parse reads is unchanged');
  }
});
