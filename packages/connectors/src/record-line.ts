/** A RECORD message found by {@link scanRecordLine}. */
export interface RecordLine {
  stream: string;
  /** The text of the record's `data` object exactly as the connector wrote it (compact JSON). */
  data: string;
}

/**
 * The fast path for Airbyte RECORD lines, which are nearly all of a `read`'s output: checks
 * that the line is JSON that `JSON.parse` would accept, and finds `record.stream` and the text
 * of `record.data`, so the record is staged without being parsed into objects and serialised
 * again (about ten times less work per record).
 *
 * It takes only the common form: a RECORD message whose `record.stream` is a string and whose
 * `record.data` is an object written without whitespace, nested at most {@link MAX_NESTING}
 * deep, with the message's own member names, `type` and `stream` free of escapes (whitespace
 * around the message's own members is fine). Everything else — other message types, lines
 * that are not JSON, RECORDs of another shape — answers undefined, and the caller parses the
 * line in full. Undefined is always safe; a result is given only when it is what `JSON.parse`
 * would give, with the last of repeated members counting as it does there. The data text is
 * the connector's own: numbers keep their digits (no rounding above 2^53) and escapes stay
 * escapes; a member name repeated *inside* `data` is staged as written, where parsing kept
 * only the last. A line with whitespace between its tokens is taken compacted (the whitespace
 * outside strings removed), so `data` is always compact JSON.
 */
export function scanRecordLine(line: string): RecordLine | undefined {
  try {
    // A connector that writes JSON with spaces (Python's json.dumps by default) gets the same
    // path once the spaces are gone, for the full parse would round its integers above 2^53.
    // Only valid JSON is compacted: there, whitespace only ever lies between tokens.
    const fast = new RecordScanner(line).scan();
    if (fast) return fast;
    const compact = compactJson(line);
    return compact !== line && isJson(line) ? new RecordScanner(compact).scan() : undefined;
  } catch (err) {
    // A value too long for the regular expression engine's backtracking stack (millions of
    // escapes in one string): the full parse takes that line.
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

const isSpace = (c: number): boolean => c === SPACE || c === TAB || c === LF || c === CR;

/** The line without the whitespace between JSON tokens (strings are copied as they are, escapes included). */
function compactJson(line: string): string {
  const runs: string[] = [];
  let runStart = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (isSpace(c)) {
      if (i > runStart) runs.push(line.slice(runStart, i));
      runStart = i + 1;
    }
  }
  if (runStart < line.length) runs.push(line.slice(runStart));
  return runs.join('');
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** Objects and arrays nest at most this deep in a `data` taken by the fast path (`data` itself is the first level). */
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

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** A cursor over one protocol line. Each step answers false where the line leaves the fast path. */
class RecordScanner {
  readonly #s: string;
  #pos = 0;
  /** The characters of the last string read by `#plainString`: `#s[#textStart, #textEnd)`. */
  #textStart = 0;
  #textEnd = 0;

  constructor(line: string) {
    this.#s = line;
  }

  scan(): RecordLine | undefined {
    let isRecord = false;
    let stream: string | undefined;
    let data: string | undefined;
    if (!this.#objectStart()) return undefined;
    for (;;) {
      if (!this.#memberName()) return undefined;
      if (this.#textIs('type')) {
        // A type other than "RECORD" goes the full way.
        if (!this.#plainString() || !this.#textIs('RECORD')) return undefined;
        isRecord = true;
      } else if (this.#textIs('record')) {
        if (!this.#objectStart()) return undefined;
        // A repeated "record" replaces the earlier one entirely.
        stream = undefined;
        data = undefined;
        for (;;) {
          if (!this.#memberName()) return undefined;
          const at = this.#pos;
          if (this.#textIs('stream')) {
            if (!this.#plainString()) return undefined;
            stream = this.#s.slice(this.#textStart, this.#textEnd);
          } else if (this.#textIs('data')) {
            if (this.#s.charCodeAt(at) !== LBRACE || !this.#match(VALUE_AT)) return undefined;
            data = this.#s.slice(at, this.#pos);
          } else if (!this.#match(VALUE_AT)) {
            return undefined;
          }
          const next = this.#separator();
          if (next === RBRACE) break;
          if (next !== COMMA) return undefined;
        }
      } else if (!this.#match(VALUE_AT)) {
        return undefined;
      }
      const next = this.#separator();
      if (next === RBRACE) break;
      if (next !== COMMA) return undefined;
    }
    this.#skipSpace();
    if (this.#pos !== this.#s.length || !isRecord || stream === undefined || data === undefined) return undefined;
    return { stream, data };
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

  /** A string without escapes or control characters (the only kind names, `type` and `stream` may be here). */
  #plainString(): boolean {
    const s = this.#s;
    const start = this.#pos + 1;
    if (s.charCodeAt(this.#pos) !== QUOTE) return false;
    const end = s.indexOf('"', start);
    if (end === -1) return false;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c < SPACE || c === BACKSLASH) return false;
    }
    this.#textStart = start;
    this.#textEnd = end;
    this.#pos = end + 1;
    return true;
  }

  #textIs(text: string): boolean {
    return this.#textEnd - this.#textStart === text.length && this.#s.startsWith(text, this.#textStart);
  }

  /** `"name":`, with the whitespace around it; leaves the cursor at the value. */
  #memberName(): boolean {
    this.#skipSpace();
    if (!this.#plainString()) return false;
    this.#skipSpace();
    if (this.#s.charCodeAt(this.#pos) !== COLON) return false;
    this.#pos += 1;
    this.#skipSpace();
    return true;
  }

  /** Matches `re` (sticky) at the cursor and moves past the match. */
  #match(re: RegExp): boolean {
    re.lastIndex = this.#pos;
    if (!re.test(this.#s)) return false;
    this.#pos = re.lastIndex;
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
