import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testEnv } from '../support/env.ts';
import type { CapturedRequest } from './gms-stand-in.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'validate_proposals.py');

export interface Validation {
  ok: boolean;
  proposals: number;
  errors: string[];
  /** What the validator's process wrote on stderr (an import error, say). */
  stderr: string;
}

/**
 * Runs test/datahub/validate_proposals.py (DataHub's own Python models, `acryl-datahub` from
 * test/requirements.txt) over the requests a GMS stand-in captured.
 */
export function validateWithDataHub(requests: Pick<CapturedRequest, 'action' | 'body'>[]): Validation {
  const dir = mkdtempSync(path.join(testEnv.tmpDir, 'datahub-validate-'));
  try {
    const file = path.join(dir, 'captured.json');
    writeFileSync(file, JSON.stringify(requests.map((r) => ({ action: r.action, body: r.body }))));
    const run = spawnSync(process.env['PYTHON'] ?? 'python3', [script, file], { encoding: 'utf8', timeout: 120_000 });
    let summary: { proposals: number; errors: string[] } = { proposals: 0, errors: [] };
    try {
      summary = JSON.parse(run.stdout) as typeof summary;
    } catch {
      summary.errors = [`validator output is not JSON: ${run.stdout.slice(0, 500)}`];
    }
    return { ok: run.status === 0, proposals: summary.proposals, errors: summary.errors, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
