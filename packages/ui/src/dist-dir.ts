import { fileURLToPath } from 'node:url';

/** Absolute path of the built UI (`pnpm --filter @sluice/ui build` writes it), for the server that serves it. */
export const uiDistDir: string = fileURLToPath(new URL('../dist', import.meta.url));
