// Imported first by `pnpm start`, `pnpm sluice` and `pnpm db:migrate` (node --import, in Sluice's own
// process, before any of its modules loads the client): makes the Prisma client and the flow UI again when the
// checkout's sources changed since they were made (an update whose `pnpm install` had nothing to
// install runs no install script: QA round 53a F1), saying so in one line each.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { prismaClient, root, uiBundle, upToDate } from './build-stamps.mjs';

for (const [artifact, script] of [
  [prismaClient, 'prisma-generate.mjs'],
  [uiBundle, 'build-ui.mjs'],
]) {
  if (upToDate(artifact)) continue;
  process.stderr.write(`${artifact.what} was not made from this checkout's sources (an update whose install had nothing to install?): making it again\n`);
  // What the tool says is shown only when it fails (Prisma's generate speaks on stderr as it works).
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', script)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}${result.stderr}`);
    process.stderr.write(`making ${artifact.what} failed (exit ${result.status ?? 'by signal'}): run \`pnpm install --force\`\n`);
    process.exit(1);
  }
}
