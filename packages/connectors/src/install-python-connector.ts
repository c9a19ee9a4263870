import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { runCommand, tailLines } from './run-command.ts';

/** Written last into an install directory: its presence means the virtualenv is complete. */
export const INSTALL_MARKER = 'sluice-install.json';

const installMarkerSchema = z.object({
  sourceName: z.string(),
  packageName: z.string(),
  requestedVersion: z.string().nullable(),
  installedVersion: z.string(),
  python: z.string(),
  installedAt: z.string(),
  installId: z.string(),
});
export type InstallMarker = z.infer<typeof installMarkerSchema>;

export interface PythonInstall {
  /** The virtualenv directory (its final, published path). */
  dir: string;
  /** The virtualenv's interpreter; the connector script is run through it. */
  python: string;
  /** The connector's console script inside the virtualenv. */
  script: string;
  marker: InstallMarker;
  /** True when this call did the install, false when it was already there. */
  installedNow: boolean;
}

export interface InstallPythonConnectorOptions {
  connectorsDir: string;
  version?: string | undefined;
  /** The interpreter that creates virtualenvs. */
  python?: string;
  /** Limit for one install (venv + pip), and for waiting on another process's install. */
  installTimeoutMs?: number;
  /** Extra arguments for `pip install` (e.g. `--index-url`). */
  pipArgs?: string[];
  onProgress?: (message: string) => void;
  /** Stops the install (its programs, or the wait for another process's): the process is stopping. Throws the signal's reason. */
  signal?: AbortSignal | undefined;
}

/**
 * Thrown when the install cannot be made: `notFound` when the index has no such distribution;
 * `transient` when the disk was full, which freeing space mends (QA round 51b D4: "a retry cannot
 * fix this").
 */
export class PythonInstallError extends Error {
  constructor(
    message: string,
    readonly notFound: boolean,
    readonly transient = false,
  ) {
    super(message);
    this.name = 'PythonInstallError';
  }
}

/** A program's words for a full disk: Python's `[Errno 28]`, the C library's, Node's code. */
const NO_SPACE = /No space left on device|\[Errno 28\]|ENOSPC|Disk quota exceeded|\[Errno 122\]/i;

export function installDirName(sourceName: string, version: string | undefined): string {
  return version ? `${sourceName}@${version}` : sourceName;
}

async function readMarker(dir: string): Promise<InstallMarker | undefined> {
  try {
    const marker = installMarkerSchema.parse(JSON.parse(await readFile(path.join(dir, INSTALL_MARKER), 'utf8')));
    await access(path.join(dir, 'bin', 'python'), constants.X_OK);
    await access(path.join(dir, 'bin', marker.sourceName), constants.R_OK);
    return marker;
  } catch {
    return undefined;
  }
}

function published(dir: string, marker: InstallMarker, installedNow: boolean): PythonInstall {
  return { dir, python: path.join(dir, 'bin', 'python'), script: path.join(dir, 'bin', marker.sourceName), marker, installedNow };
}

/**
 * Installs `airbyte-<sourceName>` (pinned to `version` when given) into its own virtualenv
 * `{connectorsDir}/{sourceName}[@version]`, once: later calls, from this or any other process,
 * find the finished install and return at once.
 *
 * Safe when several processes install at the same time: they serialise on a lock file beside the
 * install, the install is built in a temp directory and published by one atomic rename, and the
 * marker file written last tells a complete install from a broken one. A half-finished install
 * (a crash, a kill, a full disk) is removed by the next caller that takes the lock.
 */
export async function installPythonConnector(sourceName: string, options: InstallPythonConnectorOptions): Promise<PythonInstall> {
  const root = path.resolve(options.connectorsDir);
  const name = installDirName(sourceName, options.version);
  const finalDir = path.join(root, name);
  const existing = await readMarker(finalDir);
  if (existing) return published(finalDir, existing, false);

  await mkdir(root, { recursive: true });
  const timeoutMs = options.installTimeoutMs ?? 15 * 60_000;
  const lockTarget = path.join(root, `.${name}.lock`);
  const release = await takeInstallLock(lockTarget, name, root, timeoutMs, options);
  try {
    const again = await readMarker(finalDir);
    if (again) return published(finalDir, again, false);
    await removeBroken(root, name, finalDir, options.onProgress);
    const tmpDir = path.join(root, `.tmp-${name}-${randomBytes(6).toString('hex')}`);
    try {
      const marker = await buildVirtualenv(sourceName, tmpDir, options, timeoutMs);
      await relocateScripts(tmpDir, finalDir);
      await rename(tmpDir, finalDir);
      options.onProgress?.(`installed airbyte-${sourceName} ${marker.installedVersion} into ${finalDir}`);
      return published(finalDir, marker, true);
    } catch (err) {
      await rm(tmpDir, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await release();
  }
}

/**
 * The install lock of `name`, waited for a second at a time while another process holds it (for
 * at most `timeoutMs`). Any other failure to take it — a read-only or full connectors directory,
 * one this process may not write — is said at once (QA round 51b D5: every error was retried for
 * 15 minutes, said as "waiting for the install lock").
 */
async function takeInstallLock(lockTarget: string, name: string, root: string, timeoutMs: number, options: InstallPythonConnectorOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  options.onProgress?.(`waiting for the install lock of ${name}`);
  for (;;) {
    const locked = lockfile.lock(lockTarget, {
      realpath: false,
      // A lock lost to a stalled event loop must not crash the process; the marker check still guards the install.
      onCompromised: (err) => options.onProgress?.(`the install lock of ${name} was lost: ${err.message}`),
      stale: 30_000,
      update: 5_000,
    });
    try {
      return await untilAborted(locked, options.signal);
    } catch (err) {
      options.signal?.throwIfAborted();
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ELOCKED') {
        const message = err instanceof Error ? err.message : String(err);
        throw new PythonInstallError(`the install lock of ${name} could not be made in ${root} (SLUICE_CONNECTORS_DIR must be a directory this process can write): ${message}`, false, NO_SPACE.test(message));
      }
      if (Date.now() >= deadline) throw new PythonInstallError(`another process has held the install lock of ${name} in ${root} for ${Math.round(timeoutMs / 1000)} s`, false, true);
      await setTimeout(1000, undefined, options.signal ? { signal: options.signal } : {}).catch(() => options.signal?.throwIfAborted());
    }
  }
}

/**
 * The lock, or the signal's reason thrown once it aborts first; a lock taken after that is given
 * back at once.
 */
async function untilAborted(locked: Promise<() => Promise<void>>, signal: AbortSignal | undefined): Promise<() => Promise<void>> {
  if (!signal) return locked;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('the install was stopped'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([locked, aborted]);
  } catch (err) {
    if (signal.aborted) locked.then((release) => release(), () => undefined).catch(() => undefined);
    throw err;
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

async function removeBroken(root: string, name: string, finalDir: string, onProgress?: (m: string) => void): Promise<void> {
  for (const entry of await readdir(root)) {
    if (entry.startsWith(`.tmp-${name}-`)) {
      onProgress?.(`removing an unfinished install ${entry}`);
      await rm(path.join(root, entry), { recursive: true, force: true });
    }
  }
  try {
    await access(finalDir);
    onProgress?.(`removing a broken install ${finalDir}`);
    await rm(finalDir, { recursive: true, force: true });
  } catch {
    // Not there: nothing to clean.
  }
}

async function buildVirtualenv(
  sourceName: string,
  dir: string,
  options: InstallPythonConnectorOptions,
  timeoutMs: number,
): Promise<InstallMarker> {
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1000, deadline - Date.now());
  const basePython = options.python ?? 'python3';
  const packageName = `airbyte-${sourceName}`;
  const requirement = options.version ? `${packageName}==${options.version}` : packageName;
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONDONTWRITEBYTECODE: '1' };

  options.onProgress?.(`creating a virtualenv for ${packageName} with ${basePython}`);
  // pip is put in by ensurepip run here, not by venv: venv keeps ensurepip's output to itself, and
  // said only "returned non-zero exit status 1" of a full disk (QA round 51b D4).
  const venv = await runCommand(basePython, ['-m', 'venv', '--without-pip', dir], { timeoutMs: left(), env, signal: options.signal });
  options.signal?.throwIfAborted();
  if (venv.code !== 0) {
    const out = `${venv.stderr}\n${venv.stdout}`;
    throw new PythonInstallError(`${basePython} -m venv failed: ${tailLines(venv.stderr || venv.stdout, 5) || `exit ${String(venv.code)}`}`, false, NO_SPACE.test(out));
  }
  const python = path.join(dir, 'bin', 'python');
  const ensurepip = await runCommand(python, ['-m', 'ensurepip', '--upgrade', '--default-pip'], { timeoutMs: left(), env, signal: options.signal });
  options.signal?.throwIfAborted();
  if (ensurepip.code !== 0) {
    const out = `${ensurepip.stderr}\n${ensurepip.stdout}`;
    // pip's own "ERROR:" line says why; ensurepip's traceback after it says only that pip failed.
    const said = out.split('\n').find((l) => l.startsWith('ERROR:')) ?? tailLines(ensurepip.stderr || ensurepip.stdout, 4);
    throw new PythonInstallError(`${basePython} -m venv failed to put pip in it (ensurepip): ${said || `exit ${String(ensurepip.code)}`}`, false, NO_SPACE.test(out));
  }
  options.onProgress?.(`pip install ${requirement}`);
  const pip = await runCommand(python, ['-m', 'pip', 'install', '--no-input', '--quiet', ...(options.pipArgs ?? []), requirement], { timeoutMs: left(), env, signal: options.signal });
  options.signal?.throwIfAborted();
  if (pip.code !== 0) {
    const out = `${pip.stderr}\n${pip.stdout}`;
    // pip says the same when its index could not be reached at all: only an index that answered
    // (no connection retries or errors in the output) says the package does not exist.
    const unreachable = /NewConnectionError|Temporary failure in name resolution|Network is unreachable|Max retries exceeded|ProxyError|SSLError|ConnectTimeout|ReadTimeout/i.test(out);
    const notFound = !unreachable && /No matching distribution found|Could not find a version that satisfies/i.test(out);
    const why = pip.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : tailLines(out, 4) || `exit ${String(pip.code)}`;
    throw new PythonInstallError(
      notFound ? `pip found no distribution ${requirement} for this Python (${why})` : `pip install ${requirement} failed: ${why}`,
      notFound,
      NO_SPACE.test(out),
    );
  }
  try {
    await access(path.join(dir, 'bin', sourceName), constants.R_OK);
  } catch {
    throw new PythonInstallError(`${requirement} installed, but it provides no \`${sourceName}\` command`, false);
  }
  const probe = await runCommand(
    python,
    ['-c', `import importlib.metadata as m, sys; print(m.version(${JSON.stringify(packageName)})); print(sys.version.split()[0])`],
    { timeoutMs: 60_000, env, signal: options.signal },
  );
  options.signal?.throwIfAborted();
  const [installedVersion, pythonVersion] = probe.stdout.trim().split('\n');
  const marker: InstallMarker = {
    sourceName,
    packageName,
    requestedVersion: options.version ?? null,
    installedVersion: installedVersion?.trim() || 'unknown',
    python: pythonVersion?.trim() || 'unknown',
    installedAt: new Date().toISOString(),
    installId: path.basename(dir),
  };
  await writeFile(path.join(dir, INSTALL_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  return marker;
}

/**
 * pip writes the virtualenv's own path into its console scripts (`#!…/bin/python`) and activate
 * scripts; built under a temp name and renamed, they would point at a directory that no longer
 * exists. Rewrites them to the final path before the rename publishes the install.
 */
async function relocateScripts(tmpDir: string, finalDir: string): Promise<void> {
  const bin = path.join(tmpDir, 'bin');
  for (const entry of await readdir(bin, { withFileTypes: true })) {
    if (!entry.isFile()) continue; // the python executables are symlinks
    const file = path.join(bin, entry.name);
    const text = await readFile(file);
    if (text.length > 1_000_000 || !text.includes(tmpDir)) continue;
    await writeFile(file, text.toString('utf8').split(tmpDir).join(finalDir));
  }
}
