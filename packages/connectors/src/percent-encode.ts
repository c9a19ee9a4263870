/**
 * `text` as UTF-8 with every byte but the ASCII characters `keep` matches written `%XX` (upper-case
 * hex): a URL's escaping, and the key segment of a stream. Characters outside the Basic
 * Multilingual Plane are encoded whole (their four bytes), not as two halves.
 */
export function percentEncode(text: string, keep: RegExp): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && keep.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
