/**
 * A shell-script connector whose `spec` command is slow (not an install) while its check and
 * discover answer at once: its spec sleeps as many seconds as `{name}.spec-sleep` beside it says
 * (4 if absent), and counts its starts in `{name}.spec-starts`. A config with `check_fail` fails
 * its check. Put on PATH, the API's real connector lookups find it first, as PyAirbyte does.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SCRIPT = `#!/bin/sh
here=$(dirname "$0")
me=$(basename "$0")
case "$1" in
  spec)
    echo started >> "$here/$me.spec-starts"
    sleep "$(cat "$here/$me.spec-sleep" 2>/dev/null || echo 4)"
    echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object","properties":{"host":{"type":"string"},"password":{"type":"string","airbyte_secret":true},"check_fail":{"type":"boolean"}}}}}'
    ;;
  check)
    if grep -q check_fail "$3"; then
      echo '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"no route to the host"}}'
    else
      echo '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}'
    fi
    ;;
  discover)
    echo '{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{"type":"object","properties":{"id":{"type":"integer"}}},"supported_sync_modes":["full_refresh"]}]}}'
    ;;
esac
`;

/** Writes the connector `name` into `dir`, its spec sleeping `specSleepSeconds` when given. */
export function writeSlowSpecConnector(dir: string, name: string, specSleepSeconds?: number): void {
  writeFileSync(path.join(dir, name), SCRIPT);
  chmodSync(path.join(dir, name), 0o755);
  if (specSleepSeconds !== undefined) setSpecSleep(dir, name, specSleepSeconds);
}

/** How long the connector's next spec commands sleep. */
export function setSpecSleep(dir: string, name: string, seconds: number): void {
  writeFileSync(path.join(dir, `${name}.spec-sleep`), String(seconds));
}

/** How many spec commands of the connector have started. */
export function specStarts(dir: string, name: string): number {
  return readFileSync(path.join(dir, `${name}.spec-starts`), 'utf8').trim().split('\n').length;
}
