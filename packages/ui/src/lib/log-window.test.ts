import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layOutLines, lineAt, linesBetween, placeLines, textLines } from './log-window.ts';

test('textLines: a message with newlines (a stack trace) takes one text line more per newline', () => {
  assert.equal(textLines(''), 1);
  assert.equal(textLines('one'), 1);
  assert.equal(textLines('Error: boom\n    at a\n    at b'), 3);
  assert.equal(textLines('ends with a newline\n'), 2);
});

test('layOutLines: each line starts where the one before ends; the widest text line of any message sizes the sideways scroll', () => {
  const { tops, widest } = layOutLines(['ab', 'x\nlonger text\ny', 'cde'], 18);
  assert.deepEqual([...tops], [0, 18, 72, 90]);
  assert.equal(widest, 'longer text'.length);
  assert.deepEqual([...layOutLines([], 18).tops], [0]);
});

test('lineAt: the line whose span holds a point, kept within the lines', () => {
  const { tops } = layOutLines(['a', 'b\nb', 'c'], 10); // tops 0, 10, 30, 40
  assert.equal(lineAt(tops, -5), 0);
  assert.equal(lineAt(tops, 0), 0);
  assert.equal(lineAt(tops, 9.9), 0);
  assert.equal(lineAt(tops, 10), 1);
  assert.equal(lineAt(tops, 29), 1);
  assert.equal(lineAt(tops, 30), 2);
  assert.equal(lineAt(tops, 1000), 2);
  assert.equal(lineAt(layOutLines([], 10).tops, 5), 0);
});

test('linesBetween: only the lines a stretch of the scroll area falls on, of 40,000', () => {
  const { tops } = layOutLines(Array.from({ length: 40_000 }, (_, i) => `line ${i}`), 18);
  assert.deepEqual(linesBetween(tops, 0, 180), { first: 0, end: 10 });
  assert.deepEqual(linesBetween(tops, 18 * 20_000 + 5, 18 * 20_010), { first: 20_000, end: 20_010 });
  assert.deepEqual(linesBetween(tops, -500, 36), { first: 0, end: 2 }, 'a stretch reaching above the lines starts at the first');
  assert.deepEqual(linesBetween(tops, 18 * 39_990, 18 * 50_000), { first: 39_990, end: 40_000 });
  assert.deepEqual(linesBetween(tops, 18 * 40_000, 18 * 40_100), { first: 0, end: 0 }, 'below the last line: none');
  assert.deepEqual(linesBetween(tops, -100, 0), { first: 0, end: 0 }, 'above the first line: none');
});

test('placeLines: lines go to their places in the try; what the incoming lines do not reach is kept', () => {
  const read = { first: 10, lines: ['k', 'l', 'm', 'n'] }; // the try's lines 10–13
  // The live stream's first part, from the same place: the read lines after it stay.
  assert.deepEqual(placeLines(read, 10, ['K', 'L']), { first: 10, lines: ['K', 'L', 'm', 'n'] });
  // New lines at the end, and lines overlapping the end.
  assert.deepEqual(placeLines(read, 14, ['o']), { first: 10, lines: ['k', 'l', 'm', 'n', 'o'] });
  assert.deepEqual(placeLines(read, 12, ['M', 'N', 'O']), { first: 10, lines: ['k', 'l', 'M', 'N', 'O'] });
  // An earlier page, before the stretch and meeting it.
  assert.deepEqual(placeLines(read, 7, ['h', 'i', 'j']), { first: 7, lines: ['h', 'i', 'j', 'k', 'l', 'm', 'n'] });
  // Lines that do not meet the stretch (lines between them unread): they alone.
  assert.deepEqual(placeLines(read, 20, ['u']), { first: 20, lines: ['u'] });
  assert.deepEqual(placeLines(read, 2, ['c']), { first: 2, lines: ['c'] });
  assert.deepEqual(placeLines(null, 5, ['f']), { first: 5, lines: ['f'] });
  // Nothing incoming leaves it as it was.
  assert.deepEqual(placeLines(read, 12, []), read);
});
