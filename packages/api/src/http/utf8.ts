import { isUtf8 } from 'node:buffer';

/** body-parser's `type` of the error `refuseInvalidUtf8` throws; error-handler.ts answers it with 400. */
export const INVALID_UTF8 = 'encoding.invalid';

/**
 * The offset of the first byte of `b` that does not begin a well-formed UTF-8 sequence (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF), or -1 when every byte does.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const lead = b[i] ?? 0;
    let continuations: number;
    if (lead < 0x80) {
      i++;
      continue;
    } else if (lead >= 0xc2 && lead <= 0xdf) continuations = 1;
    else if (lead >= 0xe0 && lead <= 0xef) continuations = 2;
    else if (lead >= 0xf0 && lead <= 0xf4) continuations = 3;
    else return i;
    for (let k = 1; k <= continuations; k++) {
      const next = b[i + k];
      if (next === undefined) return i;
      // The second byte's range narrows after E0 (overlong), ED (surrogates), F0 (overlong) and F4 (past U+10FFFF).
      const lo = k === 1 && lead === 0xe0 ? 0xa0 : k === 1 && lead === 0xf0 ? 0x90 : 0x80;
      const hi = k === 1 && lead === 0xed ? 0x9f : k === 1 && lead === 0xf4 ? 0x8f : 0xbf;
      if (next < lo || next > hi) return i;
    }
    i += continuations + 1;
  }
  return -1;
}

/**
 * body-parser's `verify`: a JSON body whose bytes are not UTF-8 is refused, naming the first bad
 * byte and where it is. Its decoder put U+FFFD in their place, and the job kept the changed value
 * (QA round 43a F4: a secret typed in Latin-1 by a client that declared UTF-8, changed without a
 * word, and the connector then failed to sign in with no hint why). The message holds no byte of
 * the body but the bad one.
 */
export function refuseInvalidUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  if (isUtf8(body)) return;
  const at = firstInvalidUtf8(body);
  const byte = (body[at] ?? 0).toString(16).padStart(2, '0');
  throw Object.assign(new Error(`is not valid UTF-8 (byte 0x${byte} at offset ${at}): send the JSON in UTF-8`), { type: INVALID_UTF8 });
}
