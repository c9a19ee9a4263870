import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { useRetryRead } from '../api/retry-read.ts';
import type { JobState, StateReset } from '../api/types.ts';
import { useApp } from '../app-context.ts';
import { formatDate, shortId } from '../lib/format.ts';
import { Link } from '../router.tsx';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { ActionStatus, JsonBlock } from './page-parts.tsx';

/**
 * The job's saved connector state (what its next run hands the connector), stream by stream, and
 * a reset of it: the next run then reads those streams from the start. Read again whenever
 * `version` changes (the page passes the job's live status, so a run that ends refreshes it).
 */
export function SavedState({ jobId, version, canReset }: { jobId: string; version: string; canReset: boolean }): ReactNode {
  const { api } = useApp();
  const [state, setState] = useState<JobState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<string[] | 'all' | null>(null);
  const [busy, setBusy] = useState(false);

  const { attempt, retryLater } = useRetryRead();

  const load = useCallback(() => {
    api
      .get<JobState>(`/api/airbyte/ingest/${encodeURIComponent(jobId)}/state`)
      .then((s) => {
        setState(s);
        setError(null);
      })
      .catch((err: unknown) => {
        setError(err instanceof Error ? err.message : String(err));
        retryLater();
      });
  }, [api, jobId, retryLater]);
  useEffect(load, [load, version, attempt]);

  const reset = async (streams: string[] | 'all'): Promise<void> => {
    setBusy(true);
    setError(null);
    setNotice(null);
    const query = streams === 'all' ? '' : `?${streams.map((s) => `stream=${encodeURIComponent(s)}`).join('&')}`;
    try {
      const r = await api.request<StateReset>('DELETE', `/api/airbyte/ingest/${encodeURIComponent(jobId)}/state${query}`);
      setNotice(r.reset.length === 0 ? 'Nothing was saved to forget.' : `Forgot the saved state of ${r.reset.map((s) => s ?? 'the connector').join(', ')}: the next run reads from the start.`);
      load();
    } catch (err) {
      setError(`Reset failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setConfirm(null);
      setBusy(false);
    }
  };

  const streams = state?.streams ?? [];
  const pending = state?.pending ?? [];
  return (
    <section aria-labelledby="state-h">
      <h2 id="state-h">Saved state</h2>
      {state === null && error === null ? <p className="muted">Loading…</p> : null}
      {state !== null && streams.length === 0 && pending.length === 0 ? <p className="muted">No saved state: the next run reads every stream from the start.</p> : null}
      {state !== null && streams.length === 0 && pending.length > 0 ? (
        <p className="muted">No saved state yet: the next run first settles the pending states below.</p>
      ) : null}
      {streams.length > 0 ? (
        <table className="responsive" data-testid="saved-state">
          <StateTableHead columns={['Stream', 'Saved by run', 'At', 'State']} canReset={canReset} />
          <tbody>
            {streams.map((s) => (
              <tr key={s.stream ?? ''}>
                <td data-label="Stream">{s.stream ?? <em>connector-wide ({s.kind})</em>}</td>
                <td data-label="Saved by run">{s.run_id !== null ? <Link to={`/runs/${s.run_id}`}>{shortId(s.run_id)}</Link> : <span className="muted" title="put through the API (PUT …/state), not saved by a run">imported</span>}</td>
                <td data-label="At">{formatDate(s.updated_at)}</td>
                <StateCell state={s.state} />
                {canReset ? <ResetCell stream={s.stream} what="saved" onReset={(stream) => setConfirm([stream])} /> : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {pending.length > 0 ? (
        <>
          <h3>Pending</h3>
          <p className="muted small">
            States loads recorded before their commit and have not saved after it (their run was lost or cancelled between the two, or is
            under way). The next run saves each whose commit its table holds before it reads, and drops the others.
          </p>
          <table className="responsive" data-testid="pending-state">
            <StateTableHead columns={['Stream', 'Load of run', 'Table', 'Recorded', 'State']} canReset={canReset} />
            <tbody>
              {pending.map((s) => (
                <tr key={`${s.stream}:${s.run_id}`}>
                  <td data-label="Stream">{s.stream}</td>
                  <td data-label="Load of run"><Link to={`/runs/${s.run_id}`}>{shortId(s.run_id)}</Link></td>
                  <td data-label="Table">{s.table}</td>
                  <td data-label="Recorded">{formatDate(s.recorded_at)}</td>
                  <StateCell state={s.state} />
                  {canReset ? <ResetCell stream={s.stream} what="pending" onReset={(stream) => setConfirm([stream])} /> : null}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {canReset && (streams.length > 0 || pending.length > 0) ? (
        <div className="controls">
          <button type="button" className="danger" onClick={() => setConfirm('all')}>
            Reset all saved state…
          </button>
        </div>
      ) : null}
      <ActionStatus notice={notice} error={error} />
      <ConfirmDialog
        open={confirm !== null}
        title="Forget the saved state?"
        confirmLabel="Reset state"
        busy={busy}
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          if (confirm !== null) void reset(confirm);
        }}
      >
        <p>
          The next run reads {confirm === 'all' ? 'every stream' : <strong>{confirm?.join(', ')}</strong>} from the start. The tables keep
          their rows: a merge job converges, an append job appends everything again.
        </p>
      </ConfirmDialog>
    </section>
  );
}

/** The head of a state table: its columns, and the reset column when the viewer may reset. */
function StateTableHead({ columns, canReset }: { columns: readonly string[]; canReset: boolean }): ReactNode {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
        {canReset ? <th scope="col" aria-label="Reset" /> : null}
      </tr>
    </thead>
  );
}

/** A state message, folded. */
function StateCell({ state }: { state: unknown }): ReactNode {
  return (
    <td data-label="State">
      <details>
        <summary>show</summary>
        <JsonBlock>{JSON.stringify(state, null, 2)}</JsonBlock>
      </details>
    </td>
  );
}

/** A stream's reset button (none for the connector-wide state, which resets only whole). */
function ResetCell({ stream, what, onReset }: { stream: string | null; what: 'saved' | 'pending'; onReset: (stream: string) => void }): ReactNode {
  return (
    <td data-label="">
      {stream !== null ? (
        <button type="button" onClick={() => onReset(stream)} aria-label={`Reset the ${what} state of ${stream}`}>
          Reset…
        </button>
      ) : null}
    </td>
  );
}
