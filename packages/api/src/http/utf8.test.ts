import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import { firstInvalidUtf8 } from './utf8.ts';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

test('well-formed UTF-8 has no bad byte', () => {
  for (const s of ['', 'plain', 'é', '€', '𝄞 clef', 'mixed é € 𝄞 end', '\u{10FFFF}', '\uFFFD']) assert.equal(firstInvalidUtf8(Buffer.from(s, 'utf8')), -1, s);
});

test('the first bad byte is found: stray continuations, overlongs, surrogates, past U+10FFFF, cut-off sequences', () => {
  const cases: [Uint8Array, number][] = [
    [bytes(0x61, 0xff, 0x62), 1],
    [bytes(0x61, 0x80), 1],
    [bytes(0xc0, 0x80), 0], // overlong NUL
    [bytes(0xc1, 0xbf), 0],
    [bytes(0xe0, 0x80, 0x80), 0], // overlong
    [bytes(0xed, 0xa0, 0x80), 0], // U+D800
    [bytes(0xf4, 0x90, 0x80, 0x80), 0], // past U+10FFFF
    [bytes(0xf5, 0x80, 0x80, 0x80), 0],
    [bytes(0x61, 0x62, 0xe2, 0x82), 2], // cut off at the end
    [bytes(0xc3, 0x41), 0], // a lead byte without its continuation
    [Buffer.concat([Buffer.from('ok €', 'utf8'), bytes(0xfe)]), 6],
  ];
  for (const [b, at] of cases) {
    assert.equal(firstInvalidUtf8(b), at, Buffer.from(b).toString('hex'));
    // Node's own check agrees that it is not UTF-8.
    assert.equal(isUtf8(b), false, Buffer.from(b).toString('hex'));
  }
});
