import { spawn } from 'node:child_process';

/**
 * Runs a Python script of the tests with `request` as JSON on its stdin and answers the JSON it
 * writes on stdout; a non-zero exit throws with `what` and the end of its stderr.
 * `SLUICE_TEST_PYTHON` names another interpreter.
 */
export async function runPythonJson(script: string, request: unknown, what: string): Promise<unknown> {
  const child = spawn(process.env['SLUICE_TEST_PYTHON'] ?? 'python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.end(JSON.stringify(request));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${what} failed (${code}): ${Buffer.concat(err).toString().slice(-3000)}`);
  return JSON.parse(Buffer.concat(out).toString());
}
