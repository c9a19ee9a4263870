import { useEffect, useId, useRef, type ReactNode } from 'react';
import { ActionButton } from './page-parts.tsx';

/**
 * A modal confirmation on the native <dialog> (focus trapped, Escape cancels). The caller closes it
 * when its action has ended (`busy` meanwhile): a second click of a double-click then meets the busy
 * confirm button, not the page under the dialog, and focus stays in the dialog (QA round 36a F5).
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  dismissLabel = 'Cancel',
  onConfirm,
  onCancel,
  busy = false,
  refused = null,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** The button that changes nothing (where "Cancel" would read as the action itself, as for a run's cancel). */
  dismissLabel?: string;
  onConfirm(): void;
  onCancel(): void;
  /** The confirmed action is under way: the confirm button takes no click. */
  busy?: boolean;
  /**
   * Why the action can no longer be made (what it is about changed while the dialog was open): said
   * in place of the question, and the confirm button goes.
   */
  refused?: string | null;
}): ReactNode {
  const ref = useRef<HTMLDialogElement>(null);
  // A page may hold several dialogs: each names itself by its own title.
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="confirm" aria-labelledby={titleId} onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h2 id={titleId}>{title}</h2>
      {refused === null ? (
        <div>{children}</div>
      ) : (
        <p role="alert" data-testid="dialog-refused">
          {refused}
        </p>
      )}
      <div className="actions">
        <button type="button" onClick={onCancel} autoFocus>
          {refused === null ? dismissLabel : 'Close'}
        </button>
        {refused === null ? (
          <ActionButton busy={busy} className="danger" onClick={onConfirm}>
            {confirmLabel}
          </ActionButton>
        ) : null}
      </div>
    </dialog>
  );
}
