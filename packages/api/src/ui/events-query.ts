import { z } from 'zod';
import { queryInteger, text } from '@sluice/core/contract';

/**
 * The query of `GET /api/events`, the one schema its handler parses with and /openapi.json
 * documents (the two were written apart, and the document's lacked task_id's minLength; QA round
 * 43a F7). Its cross-field rules are refinements, which JSON Schema does not carry: the
 * descriptions say them.
 */
export const eventsQuery = z
  .strictObject({
    job_id: z.uuid().optional().describe('watch one job (not with run_id)'),
    run_id: z.uuid().optional().describe('watch one run (not with job_id)'),
    task_id: text.min(1).max(200).optional().describe('with run_id and try: follow that task log'),
    map_index: queryInteger(-1, null).default(-1).describe("with task_id: which instance of a per-stream task (default: the only one)"),
    try: queryInteger(0, null).optional().describe('with task_id: the try whose log is followed'),
    try_number: queryInteger(0, null).optional().describe('the same as `try`, by the name the answers give it'),
  })
  .refine((q) => !(q.job_id !== undefined && q.run_id !== undefined), { message: 'give job_id or run_id, not both', path: ['run_id'] })
  .refine((q) => q.task_id === undefined || (q.run_id !== undefined && (q.try ?? q.try_number) !== undefined), {
    message: 'task_id needs run_id and try (or try_number)',
    path: ['task_id'],
  })
  // A try with no task to follow was ignored, and the job list streamed (QA round 43a F7).
  .refine((q) => (q.try ?? q.try_number) === undefined || q.task_id !== undefined, {
    message: 'names a try of a task log: give it with run_id and task_id',
    path: ['try'],
  });
