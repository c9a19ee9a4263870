import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import type { Job } from '../api/types.ts';
import { useApp } from '../app-context.ts';
import { MASK, maskSecrets, restoreDisplayMasks } from '../lib/mask.ts';
import { ActionStatus, JsonBlock } from './page-parts.tsx';

/**
 * The job's source config, masked, and (unless the job is deleted) an editor for it: the JSON as
 * shown, secrets as `**********` — left so, a secret keeps its saved value. Saving replaces the
 * config through the API's PATCH, which checks it with the connector and keeps the saved state;
 * `onSaved` gets the changed job the PATCH answers with. The save is made on the job as the
 * editor opened on it (If-Match): if its config changed meanwhile — another operator's change, a
 * token its connector refreshed — it is refused, not written over; `onStale` then reads the job
 * again, the draft stays, and the config as it now is shows above it (a second save is then made
 * on that one). A change of the job's other settings (a pause, from this page too) is no conflict.
 */
export function SourceConfigEditor({ job, canEdit, onSaved, onStale }: { job: Job; canEdit: boolean; onSaved: (changed: Job) => void; onStale: () => void }): ReactNode {
  const { api } = useApp();
  const shown = JSON.stringify(maskSecrets(job.source_config), null, 2);
  const [draft, setDraft] = useState<string | null>(null);
  /** The job as the editor opened on it: what the draft was made from. */
  const [base, setBase] = useState<Job>(job);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  /** After a refused save: the next job read becomes the base (the operator has been shown it). */
  const [rebase, setRebase] = useState(false);
  /** A save was refused as stale: the config as it now is stays shown above the draft. */
  const [refused, setRefused] = useState(false);
  const baseShown = JSON.stringify(maskSecrets(base.source_config), null, 2);
  const editButton = useRef<HTMLButtonElement>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const open = draft !== null;
  const wasOpen = useRef(false);
  // Opening the editor puts the keyboard in its text; closing it (a save or Cancel) gives the place
  // back to Edit source config, unless the user has moved on (QA round 56b F7: both dropped focus to the page).
  useEffect(() => {
    if (open && !wasOpen.current) textarea.current?.focus();
    const active = document.activeElement;
    if (!open && wasOpen.current && (active === null || active === document.body)) editButton.current?.focus();
    wasOpen.current = open;
  }, [open]);
  useEffect(() => {
    if (draft === null || job.settings_version === base.settings_version) return;
    // Only the other settings changed: the draft's save is still a change of the config as it is.
    if (rebase || shown === baseShown) {
      setBase(job);
      setRebase(false);
    }
  }, [job, base, draft, rebase, shown, baseShown]);

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
      const { body: changed, headers } = await api.exchange<Job>(
        'PATCH',
        `/api/airbyte/ingest/${encodeURIComponent(base.job_id)}`,
        { source_config: restoreDisplayMasks(edited, base.source_config) },
        { 'If-Match': `"${base.settings_version}"` },
      );
      onSaved(changed);
      setDraft(null);
      setRefused(false);
      // What the connector could not check in time is said, as the API's header says it (QA round 40c F3: the page said nothing).
      const unchecked = (headers.get('Sluice-Unchecked') ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
      setNotice(
        unchecked.length === 0
          ? 'Saved: the next extract uses the new config; the saved state is kept.'
          : `Saved without the connector's ${inWords(unchecked)} ${unchecked.length === 1 ? 'check' : 'checks'} (it did not answer in time: its first install, or a slow command): ` +
              `the next run makes ${unchecked.length === 1 ? 'it' : 'them'} before it reads. The next extract uses the new config; the saved state is kept.`,
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        setError('Not saved: the job was changed elsewhere since this editor opened. Its config as it is now shows above your draft, which is kept: make your change on it, and save again.');
        setRebase(true);
        setRefused(true);
        onStale();
      } else setError(`Not saved: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  // Sealed with a master key the API does not hold: nothing to show or edit (QA round 32b).
  if (job.source_config_error !== null) {
    return <p className="error" data-testid="source-config-error">The source config cannot be read: it is {job.source_config_error}.</p>;
  }
  return (
    <>
      {draft === null ? (
        <>
          <JsonBlock testId="source-config">{shown}</JsonBlock>
          {job.spec_secrets_known ? null : (
            <p className="muted small" data-testid="source-config-all-masked">
              Every text value is shown as {MASK} until the connector&apos;s spec is read, as it alone says which fields are secrets: when the connector is ready (a first install takes minutes), or by the job&apos;s next run. A connector that cannot give its spec fails that run&apos;s extract, whose error says why; until it can, the values stay masked. Left as {MASK}, a value keeps what is saved.
            </p>
          )}
          {canEdit ? (
            <button ref={editButton} type="button" className="link-button" onClick={() => { setNotice(null); setError(null); setRefused(false); setRebase(false); setBase(job); setDraft(shown); }}>
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
          {refused || shown !== baseShown ? (
            <>
              <p className="muted small">The config as it is now, changed since this editor opened:</p>
              <JsonBlock testId="source-config-now">{shown}</JsonBlock>
            </>
          ) : null}
          <label htmlFor="source-config-draft" id="source-config-hint" className="muted small">
            JSON. A secret shown as {MASK} keeps its saved value; type a new one to replace it.
          </label>
          <textarea ref={textarea} id="source-config-draft" aria-label="Source config (JSON)" aria-describedby="source-config-hint" spellCheck={false} readOnly={busy} rows={Math.min(24, draft.split('\n').length + 2)} value={draft} onChange={(e) => setDraft(e.target.value)} />
          <div className="controls">
            <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Save config'}</button>
            <button type="button" disabled={busy} onClick={() => { setDraft(null); setError(null); setRefused(false); }}>Cancel</button>
            {busy ? (
              // A save checks the config with the connector first, as a create does: seconds, more on its first use (QA round 40b F5: no word for 9 s).
              <span className="muted small" role="status" data-testid="source-config-checking">
                Checking the config with the connector (its spec, streams and a connection) before it is saved…
              </span>
            ) : null}
          </div>
        </form>
      )}
      <ActionStatus notice={notice} error={error} />
    </>
  );
}

/** `a`, `a and b`, `a, b and c`. */
function inWords(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}
