import { useState, type ReactNode } from 'react';
import type { Job } from '../api/types.ts';
import { useApp } from '../app-context.ts';
import { MASK, maskSecrets, restoreDisplayMasks } from '../lib/mask.ts';
import { ActionStatus } from './page-parts.tsx';

/**
 * The job's source config, masked, and (unless the job is deleted) an editor for it: the JSON as
 * shown, secrets as `**********` — left so, a secret keeps its saved value. Saving replaces the
 * config through the API's PATCH, which checks it with the connector and keeps the saved state;
 * `onSaved` gets the changed job the PATCH answers with.
 */
export function SourceConfigEditor({ job, canEdit, onSaved }: { job: Job; canEdit: boolean; onSaved: (changed: Job) => void }): ReactNode {
  const { api } = useApp();
  const shown = JSON.stringify(maskSecrets(job.source_config), null, 2);
  const [draft, setDraft] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const save = async (text: string): Promise<void> => {
    setError(null);
    setNotice(null);
    let edited: unknown;
    try {
      edited = JSON.parse(text);
    } catch (err) {
      setError(`Not saved: the config is not JSON (${err instanceof Error ? err.message : String(err)}).`);
      return;
    }
    if (edited === null || typeof edited !== 'object' || Array.isArray(edited)) {
      setError('Not saved: the config must be a JSON object.');
      return;
    }
    setBusy(true);
    try {
      // The PATCH answers with the changed job: the page shows it at once, not the old config until a re-read.
      const changed = await api.request<Job>('PATCH', `/api/airbyte/ingest/${encodeURIComponent(job.job_id)}`, { source_config: restoreDisplayMasks(edited, job.source_config) });
      onSaved(changed);
      setDraft(null);
      setNotice('Saved: the next extract uses the new config; the saved state is kept.');
    } catch (err) {
      setError(`Not saved: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {draft === null ? (
        <>
          <pre className="json" data-testid="source-config">{shown}</pre>
          {canEdit ? (
            <button type="button" className="link-button" onClick={() => { setNotice(null); setError(null); setDraft(shown); }}>
              Edit source config
            </button>
          ) : null}
        </>
      ) : (
        <form
          className="config-editor"
          onSubmit={(e) => {
            e.preventDefault();
            void save(draft);
          }}
        >
          <label htmlFor="source-config-draft" className="muted small">
            JSON. A secret shown as {MASK} keeps its saved value; type a new one to replace it.
          </label>
          <textarea id="source-config-draft" aria-label="Source config (JSON)" spellCheck={false} rows={Math.min(24, draft.split('\n').length + 2)} value={draft} onChange={(e) => setDraft(e.target.value)} />
          <div className="controls">
            <button type="submit" className="primary" disabled={busy}>Save config</button>
            <button type="button" disabled={busy} onClick={() => { setDraft(null); setError(null); }}>Cancel</button>
          </div>
        </form>
      )}
      <ActionStatus notice={notice} error={error} />
    </>
  );
}
