import { z } from 'zod';

const uuid = z.uuid();

/** Whether a path's id is a UUID: one that is not names nothing, and the API and the UI answer 404 for it. */
export function isUuid(v: string): boolean {
  return uuid.safeParse(v).success;
}
