import { z } from 'zod';

/** What a handler returns, checked before it is stored. */
export const taskResultSchema = z.object({
  output: z.json().optional(),
  rows: z.int().nonnegative().optional(),
  bytes: z.int().nonnegative().optional(),
  mappedStreams: z.array(z.string().min(1)).optional(),
});
