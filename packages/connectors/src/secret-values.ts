import { findSecretPaths, pathsToMask, secretValues } from '@sluice/core/secrets';
import { percentEncode } from './percent-encode.ts';
import type { ConnectorConfig, ConnectorSpecification } from './protocol.ts';

/**
 * The secret values of a connector config, for the log redactor: what the API masks (the spec's
 * `airbyte_secret` fields, and keys the spec does not declare that are named like a secret) and,
 * beyond it, every value under a key named like a secret even where the spec declares the key
 * (a log hides a value the API would show: hiding costs a log line little, leaking costs a
 * secret). One name rule for both: `looksLikeSecretKey` in @sluice/core/secrets. Each value also
 * appears in the forms it takes when a connector prints its config: JSON-escaped (as inside a JSON
 * log line), JSON with non-ASCII escaped (Python's `json.dumps`), Python's `repr`, and
 * percent-encoded as in a URL's query or path (a connector logging the URL it calls), and inside
 * base64 at any alignment (a Basic `Authorization` header it logs: base64 of `user:password`); a
 * value of several lines, also each of its lines (stderr reaches the log a line at a time).
 */
export function collectSecretValues(spec: ConnectorSpecification | undefined, config: ConnectorConfig): string[] {
  const paths = new Set([...findSecretPaths(config, spec), ...findSecretPaths(config, undefined)]);
  return printedForms(secretValues(config, [...paths]));
}

/**
 * Every string of a config, in the same printed forms: while the connector's spec is not known,
 * any of them may be a field only the spec marks `airbyte_secret` (the API masks them all
 * meanwhile: `pathsToMask`).
 */
export function collectConfigStrings(config: ConnectorConfig): string[] {
  return printedForms(secretValues(config, pathsToMask(config, { secretPaths: [], specSecretsKnown: false })));
}

/** Each value, and the forms it takes when a connector prints it (above). */
function printedForms(values: string[]): string[] {
  const found = new Set(values.filter((v) => v !== ''));
  for (const v of [...found]) {
    const escaped = JSON.stringify(v).slice(1, -1);
    found.add(escaped);
    found.add(asciiOnly(escaped));
    found.add(pythonRepr(v));
    for (const encoded of percentEncoded(v)) found.add(encoded);
    for (const core of base64Cores(v)) found.add(core);
    // A value of several lines (a PEM key) printed raw reaches the log a line at a time: each line is masked on its own.
    if (/[\r\n]/.test(v)) for (const line of v.split(/\r?\n|\r/)) if (line.trim() !== '') found.add(line.trim());
  }
  return [...found];
}

/** JSON text with DEL and every character beyond ASCII as `\uXXXX` (UTF-16 units), as Python's `json.dumps` writes it by default. */
function asciiOnly(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The inside of Python's `repr` of a string: backslashes doubled; \t \n \r as such; every other
 * character Python does not print (controls, format characters, separators but the space — a
 * no-break space, say) as `\xNN`, `\uNNNN` or `\UNNNNNNNN`; a quote escaped when both kinds occur.
 */
function pythonRepr(v: string): string {
  const inside = v.replace(/[\\\n\r\t]|[\p{C}\p{Z}]/gu, (c) => {
    const named = ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', ' ': ' ' } as Record<string, string>)[c];
    if (named !== undefined) return named;
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
    if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
    return `\\U${code.toString(16).padStart(8, '0')}`;
  });
  return v.includes("'") && v.includes('"') ? inside.replace(/'/g, "\\'") : inside;
}

/**
 * The forms a value takes in a URL: every byte but the unreserved ones as `%XX` (Python's
 * `quote(v, safe='')`), with `/` kept (`quote(v)`), with spaces as `+` (`quote_plus`, query strings
 * and form bodies), and JavaScript's `encodeURIComponent` (which keeps `!'()*` too).
 */
function percentEncoded(v: string): string[] {
  let component: string;
  try {
    component = encodeURIComponent(v);
  } catch {
    component = v; // a lone surrogate: no URL carries it
  }
  return [percentEncode(v, /[A-Za-z0-9_.~-]/), percentEncode(v, /[A-Za-z0-9_.~/-]/), percentEncode(v, /[A-Za-z0-9_.~ -]/).replace(/ /g, '+'), component];
}

/**
 * Base64 characters of a value inside a longer base64 text that depend on its bytes alone, at
 * least this many (fewer would mask unrelated text): values of 7 bytes or more have them at every
 * alignment, of 6 bytes at one.
 */
const MIN_BASE64_CORE = 8;

/**
 * What base64 (standard and URL-safe) of any text containing the value holds of it whatever comes
 * before and after: for each of the three byte alignments, the characters whose 6 bits all come
 * from the value's bytes. `Basic dXNlcjpz…` (base64 of `user:secret`) then shows at most the user
 * and a character or two beside the mask.
 */
function base64Cores(v: string): string[] {
  const bytes = Buffer.from(v, 'utf8');
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Character c carries bits [6c, 6c + 6) of the bytes; the value's are [8 × offset, 8 × (offset + n)).
    const core = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    if (core.length < MIN_BASE64_CORE) continue;
    cores.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return cores;
}
