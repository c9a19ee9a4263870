import { z } from 'zod';

/** What a handler returns, checked before it is stored. */
export const taskResultSchema = z.object({
  output: z.json().optional(),
  rows: z.int().nonnegative().optional(),
  bytes: z.int().nonnegative().optional(),
  mappedStreams: z.array(z.string().min(1)).optional(),
  /**
   * The try found nothing for it to do (the handler's log and the run's warnings say why): the
   * instance ends skipped, which its downstream takes as done, as Airflow's AirflowSkipException.
   */
  skipped: z.literal(true).optional(),
});
