/** A RECORD message found by {@link scanRecordLine}. */
export interface RecordLine {
  stream: string;
  /**
   * The text of the record's `data` object as the connector wrote it (compact JSON), but for the
   * repairs counted beside it.
   */
  data: string;
  /** `NaN`, `Infinity` and `-Infinity` tokens, written as the strings "NaN", "Infinity", "-Infinity". */
  nonFinite: number;
  /** `\uD800`–`\uDFFF` escapes without their other half, written as `\uFFFD` (the replacement character). */
  loneSurrogates: number;
}

/**
 * The path for Airbyte RECORD lines, which are nearly all of a `read`'s output: checks that the
 * line is JSON that `JSON.parse` would accept, and finds `record.stream` and the text of
 * `record.data`, so the record is staged without being parsed into objects and serialised again
 * (about ten times less work per record), and with the connector's own digits: the full parse
 * would round integers above 2^53.
 *
 * It takes a RECORD message whose `record.stream` is a string and whose `record.data` is an
 * object, nested to any depth, with strings of any length and escapes anywhere (an escaped stream
 * name, as Python's `json.dumps` writes `Ünï`, is decoded). Whitespace between tokens is fine:
 * `data` is taken compacted. Everything else — other message types, lines that are not JSON,
 * RECORDs of another shape (a `data` that is not an object) — answers undefined, and the caller
 * parses the line in full (QA round 29: a RECORD it left to the full parse lost the digits of its
 * integers above 2^53). A result is given only when it is what `JSON.parse` would give,
 * with the last of repeated members counting as it does there, with two repairs that keep a
 * record `JSON.parse` would refuse or DuckDB could not read:
 * - the bare `NaN`, `Infinity` and `-Infinity` that Python's `json.dumps` writes for non-finite
 *   floats are taken, as strings (a double column reads them back as those values);
 * - an escaped UTF-16 surrogate without its other half (a cut-off emoji) becomes U+FFFD.
 * A member name repeated *inside* `data` is staged as written, where parsing kept only the last
 * (stage then keeps the last: withoutRepeatedMembers).
 */
export function scanRecordLine(line: string): RecordLine | undefined {
  return new RecordScanner(line).scan();
}

const isSpace = (c: number): boolean => c === SPACE || c === TAB || c === LF || c === CR;

/** Objects and arrays nest at most this deep in a value the regular expression takes (`data` itself is the first level); deeper ones, and values written with whitespace, take the scanner. */
export const MAX_NESTING = 5;

// RFC 8259's grammar, without whitespace, as regular expressions (each alternative starts with
// a different character, so they match in one pass and fail fast).
const STRING = String.raw`"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
const SCALAR = `${STRING}|${NUMBER}|true|false|null`;

/** An object or array whose members are `value`; a comma must be followed by another member. */
function containerOf(value: string): string {
  return String.raw`\{(?:${STRING}:(?:${value})(?:,(?!\})|(?=\})))*\}|\[(?:(?:${value})(?:,(?!\])|(?=\])))*\]`;
}

function nestedValue(depth: number): string {
  return depth === 0 ? SCALAR : `${SCALAR}|${containerOf(nestedValue(depth - 1))}`;
}

const VALUE_AT = new RegExp(`(?:${nestedValue(MAX_NESTING)})`, 'y');
const NUMBER_AT = new RegExp(NUMBER, 'y');
/** Python's `json.dumps` writes non-finite floats as these bare words; they are staged as strings. */
const NON_FINITE = ['NaN', 'Infinity', '-Infinity'] as const;
/** Each escape in a JSON text: a surrogate pair, a lone surrogate (group 1), or any other. */
const ESCAPE = /\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(u[dD][89a-fA-F][0-9a-fA-F]{2})|[^])/g;

/**
 * The JSON text with each escaped surrogate that lacks its other half replaced by `\uFFFD`, and
 * how many there were: PostgreSQL's json and DuckDB refuse such text, so every protocol line is
 * repaired before it is parsed (a catalog's field name, a state, a log line too).
 */
export function repairSurrogates(text: string): { text: string; repaired: number } {
  if (!/\\u[dD][89a-fA-F]/.test(text)) return { text, repaired: 0 };
  let repaired = 0;
  const fixed = text.replace(ESCAPE, (escape: string, lone: string | undefined) => {
    if (lone === undefined) return escape;
    repaired += 1;
    return '\\ufffd';
  });
  return { text: fixed, repaired };
}

const HEX = /^[0-9a-fA-F]{4}$/;
/** The characters JSON escapes with one letter after the backslash: `"`, `\\`, `/`, b, f, n, r, t. */
const SHORT_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

/**
 * The JSON string whose opening quote is at `start`: where it ends (after its closing quote), and
 * whether it has escapes; undefined when there is none there. A loop, not a regular expression:
 * a string of millions of escapes overflowed the expression engine's backtracking stack.
 */
function stringAt(s: string, start: number): { end: number; escaped: boolean } | undefined {
  if (s.charCodeAt(start) !== QUOTE) return undefined;
  let escaped = false;
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return { end: i + 1, escaped };
    if (c < SPACE) return undefined;
    if (c === BACKSLASH) {
      escaped = true;
      const e = s.charCodeAt(i + 1);
      if (e === 0x75) {
        if (!HEX.test(s.slice(i + 2, i + 6))) return undefined;
        i += 5;
      } else if (SHORT_ESCAPES.has(e)) i += 1;
      else return undefined;
    }
  }
  return undefined;
}

/**
 * A JSON value at `start`: the regular expression's match when it takes the value (compact, at
 * most MAX_NESTING deep, its strings short enough for the expression engine), else the scanner's.
 */
function valueAt(s: string, start: number): { end: number; text: string; nonFinite: number } | undefined {
  VALUE_AT.lastIndex = start;
  let matched = false;
  try {
    matched = VALUE_AT.test(s);
  } catch (err) {
    // A string too long for the expression engine's backtracking stack: the scanner reads it.
    if (!(err instanceof RangeError)) throw err;
  }
  if (matched) return { end: VALUE_AT.lastIndex, text: s.slice(start, VALUE_AT.lastIndex), nonFinite: 0 };
  return scanValue(s, start);
}

/**
 * A JSON value at `start` (whitespace around its tokens allowed, nested to any depth), written
 * compact, with `NaN`, `Infinity` and `-Infinity` taken as strings; undefined when the text there
 * is not such a value. For what the regular expression does not take.
 */
function scanValue(s: string, start: number): { end: number; text: string; nonFinite: number } | undefined {
  const out: string[] = [];
  const closers: number[] = [];
  let nonFinite = 0;
  let i = start;
  const skip = (): void => {
    while (isSpace(s.charCodeAt(i))) i += 1;
  };
  const string = (): boolean => {
    const end = stringAt(s, i)?.end;
    if (end === undefined) return false;
    out.push(s.slice(i, end));
    i = end;
    return true;
  };
  /** `"name":` inside an object. */
  const memberName = (): boolean => {
    skip();
    if (!string()) return false;
    skip();
    if (s.charCodeAt(i) !== COLON) return false;
    out.push(':');
    i += 1;
    return true;
  };
  for (;;) {
    skip();
    const c = s.charCodeAt(i);
    if (c === LBRACE || c === LBRACKET) {
      const close = c === LBRACE ? RBRACE : RBRACKET;
      out.push(c === LBRACE ? '{' : '[');
      i += 1;
      skip();
      if (s.charCodeAt(i) === close) {
        out.push(c === LBRACE ? '}' : ']');
        i += 1;
      } else {
        closers.push(close);
        if (c === LBRACE && !memberName()) return undefined;
        continue;
      }
    } else if (c === QUOTE) {
      if (!string()) return undefined;
    } else {
      NUMBER_AT.lastIndex = i;
      const word = NUMBER_AT.test(s) ? s.slice(i, NUMBER_AT.lastIndex) : ['true', 'false', 'null', ...NON_FINITE].find((w) => s.startsWith(w, i));
      if (word === undefined) return undefined;
      const nonFiniteWord = (NON_FINITE as readonly string[]).includes(word);
      if (nonFiniteWord) nonFinite += 1;
      out.push(nonFiniteWord ? `"${word}"` : word);
      i += word.length;
    }
    // After a value: close what it ends, or go on to the next member.
    for (;;) {
      const close = closers.at(-1);
      if (close === undefined) return { end: i, text: out.join(''), nonFinite };
      skip();
      const d = s.charCodeAt(i);
      if (d === close) {
        out.push(close === RBRACE ? '}' : ']');
        closers.pop();
        i += 1;
        continue;
      }
      if (d !== COMMA) return undefined;
      out.push(',');
      i += 1;
      if (close === RBRACE && !memberName()) return undefined;
      break;
    }
  }
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** A cursor over one protocol line. Each step answers false where the line leaves the fast path. */
class RecordScanner {
  readonly #s: string;
  #pos = 0;
  /** The characters of the last string read by `#string`, as written: `#s[#textStart, #textEnd)`. */
  #textStart = 0;
  #textEnd = 0;
  /** Whether that string has escapes (its text is then what JSON.parse decodes it to). */
  #textEscaped = false;

  constructor(line: string) {
    this.#s = line;
  }

  scan(): RecordLine | undefined {
    let isRecord = false;
    let stream: string | undefined;
    let data: string | undefined;
    let nonFinite = 0;
    if (!this.#objectStart()) return undefined;
    for (;;) {
      if (!this.#memberName()) return undefined;
      if (this.#textIs('type')) {
        // The last "type" counts, as in JSON.parse: a line that names it twice, RECORD last, is a
        // RECORD (QA round 30a: it went to the full parse, which rounded its big integers).
        if (this.#s.charCodeAt(this.#pos) === QUOTE) {
          if (!this.#string()) return undefined;
          isRecord = this.#textIs('RECORD');
        } else {
          if (this.#value() === undefined) return undefined;
          isRecord = false;
        }
      } else if (this.#textIs('record')) {
        if (!this.#objectStart()) return undefined;
        // A repeated "record" replaces the earlier one entirely.
        stream = undefined;
        data = undefined;
        nonFinite = 0;
        for (;;) {
          if (!this.#memberName()) return undefined;
          const at = this.#pos;
          if (this.#textIs('stream')) {
            if (!this.#string()) return undefined;
            stream = this.#text();
          } else if (this.#textIs('data')) {
            if (this.#s.charCodeAt(at) !== LBRACE) return undefined;
            const value = this.#value();
            if (value === undefined) return undefined;
            data = value.text;
            nonFinite = value.nonFinite;
          } else if (this.#value() === undefined) {
            return undefined;
          }
          const next = this.#separator();
          if (next === RBRACE) break;
          if (next !== COMMA) return undefined;
        }
      } else if (this.#value() === undefined) {
        return undefined;
      }
      const next = this.#separator();
      if (next === RBRACE) break;
      if (next !== COMMA) return undefined;
    }
    this.#skipSpace();
    if (this.#pos !== this.#s.length || !isRecord || stream === undefined || data === undefined) return undefined;
    const { text, repaired } = repairSurrogates(data);
    return { stream, data: text, nonFinite, loneSurrogates: repaired };
  }

  /** A value at the cursor, moved past (see valueAt). */
  #value(): { text: string; nonFinite: number } | undefined {
    const value = valueAt(this.#s, this.#pos);
    if (value !== undefined) this.#pos = value.end;
    return value;
  }

  #skipSpace(): void {
    const s = this.#s;
    let i = this.#pos;
    for (let c = s.charCodeAt(i); c === SPACE || c === TAB || c === LF || c === CR; c = s.charCodeAt(++i));
    this.#pos = i;
  }

  /** `{` followed by a member (an empty object is not what the fast path takes). */
  #objectStart(): boolean {
    this.#skipSpace();
    if (this.#s.charCodeAt(this.#pos) !== LBRACE) return false;
    this.#pos += 1;
    return true;
  }

  /** A string at the cursor, moved past; its text is then `#text()`. */
  #string(): boolean {
    const found = stringAt(this.#s, this.#pos);
    if (found === undefined) return false;
    this.#textStart = this.#pos + 1;
    this.#textEnd = found.end - 1;
    this.#textEscaped = found.escaped;
    this.#pos = found.end;
    return true;
  }

  /** The last string's text, decoded. */
  #text(): string {
    const raw = this.#s.slice(this.#textStart, this.#textEnd);
    return this.#textEscaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  #textIs(text: string): boolean {
    if (this.#textEscaped) return this.#text() === text;
    return this.#textEnd - this.#textStart === text.length && this.#s.startsWith(text, this.#textStart);
  }

  /** `"name":`, with the whitespace around it; leaves the cursor at the value. */
  #memberName(): boolean {
    this.#skipSpace();
    if (!this.#string()) return false;
    this.#skipSpace();
    if (this.#s.charCodeAt(this.#pos) !== COLON) return false;
    this.#pos += 1;
    this.#skipSpace();
    return true;
  }

  /** The character after a member (whitespace skipped), consumed: a comma, a closing brace, or anything else. */
  #separator(): number {
    this.#skipSpace();
    const c = this.#s.charCodeAt(this.#pos);
    this.#pos += 1;
    return c;
  }
}

/**
 * A record's `data` object with each member name it repeats kept once, with its last value (as
 * `JSON.parse` and Python's `json` read it); undefined when it repeats none, or is not an object
 * of JSON text. Names are compared as JSON reads them (`"a"` and `"\u0061"` are one name) and in
 * any case as written (`a` and `A` are two). Only the top level is looked at: a repeat inside a
 * member's value is that value's text, kept as written.
 */
export function withoutRepeatedMembers(data: string): string | undefined {
  let i = 0;
  const skip = (): void => {
    while (isSpace(data.charCodeAt(i))) i += 1;
  };
  skip();
  if (data.charCodeAt(i) !== LBRACE) return undefined;
  i += 1;
  skip();
  if (data.charCodeAt(i) === RBRACE) return undefined;
  const members: { name: string; text: string }[] = [];
  for (;;) {
    skip();
    const nameEnd = stringAt(data, i)?.end;
    if (nameEnd === undefined) return undefined;
    const nameText = data.slice(i, nameEnd);
    i = nameEnd;
    skip();
    if (data.charCodeAt(i) !== COLON) return undefined;
    i += 1;
    skip();
    const start = i;
    const value = valueAt(data, i);
    if (value === undefined) return undefined;
    i = value.end;
    members.push({ name: JSON.parse(nameText) as string, text: `${nameText}:${data.slice(start, i)}` });
    skip();
    const c = data.charCodeAt(i);
    i += 1;
    if (c === RBRACE) break;
    if (c !== COMMA) return undefined;
  }
  const lastOf = new Map<string, number>();
  members.forEach((m, k) => lastOf.set(m.name, k));
  if (lastOf.size === members.length) return undefined;
  return `{${members
    .filter((m, k) => lastOf.get(m.name) === k)
    .map((m) => m.text)
    .join(',')}}`;
}
