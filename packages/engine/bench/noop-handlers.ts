import type { TaskHandlers } from '../../runner/src/worker/index.ts';

/** The engine benchmark's tasks: they do nothing (extract maps the job's streams). */
export const noopHandlers: TaskHandlers = {
  extract: async (ctx) => ({ mappedStreams: ctx.job.streams }),
  stage: async () => ({}),
  transform: async () => ({}),
  load: async () => ({}),
  archive: async () => ({}),
};
