// Builds the flow UI's bundle (vite) and stamps it with its sources' hash (build-stamps.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { root, uiBundle, writeStamp } from './build-stamps.mjs';

const ui = path.join(root, 'packages/ui');
const made = uiBundle.sources();
const result = spawnSync(process.execPath, [path.join(ui, 'node_modules/vite/bin/vite.js'), 'build', ...process.argv.slice(2)], { cwd: ui, stdio: 'inherit' });
if (result.status === 0) writeStamp(uiBundle, made);
process.exit(result.status ?? 1);
