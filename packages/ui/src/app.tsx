import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiClient } from './api/client.ts';
import { AppContext } from './app-context.ts';
import { Auth, CALLBACK_PATH, type AuthConfig } from './auth/auth.ts';
import { ActionStatus, useDocumentTitle } from './components/page-parts.tsx';
import { setDisplayZone, useDisplayZone } from './lib/display-zone.ts';
import { JobPage } from './pages/job-page.tsx';
import { JobsPage } from './pages/jobs-page.tsx';
import { RunPage } from './pages/run-page.tsx';
import { TaskLogPage } from './pages/task-log-page.tsx';
import { Link, useRouter } from './router.tsx';

export function App(): ReactNode {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    fetch('/api/ui/config', { credentials: 'same-origin' })
      .then(async (res) => {
        if (!res.ok) throw new Error(`the server answered ${res.status} for its UI settings`);
        return (await res.json()) as { auth: AuthConfig };
      })
      .then((c) => setConfig(c.auth))
      .catch((err: unknown) => setFailure(err instanceof Error ? err.message : String(err)));
  }, []);
  if (failure !== null) return <Shell><p role="alert" className="error">{failure}</p></Shell>;
  if (config === null) return <Shell><p className="muted">Loading…</p></Shell>;
  return <Signed config={config} />;
}

function Signed({ config }: { config: AuthConfig }): ReactNode {
  const { location, navigate } = useRouter();
  // The pages format their times as they draw: a switch of the zone draws them again.
  useDisplayZone();
  const [, setVersion] = useState(0);
  const auth = useMemo(() => new Auth(config), [config]);
  const api = useMemo(() => new ApiClient(auth, () => setVersion((v) => v + 1)), [auth]);

  if (location.path === CALLBACK_PATH) return <Callback auth={auth} onDone={(to) => navigate(to, { replace: true })} />;
  if (config.mode === 'none') {
    return (
      <Shell>
        <main id="main" tabIndex={-1} className="signin">
          <h1>No browser sign-in configured</h1>
          <p role="alert">
            This server checks bearer tokens from an OAuth issuer but has no client id for the UI. Set <code>SLUICE_AUTH_CLIENT_ID</code> to
            the issuer's public client for Sluice (authorization code with PKCE, redirect URI <code>{`${window.location.origin}${CALLBACK_PATH}`}</code>),
            or run with <code>SLUICE_DEV_TOKEN</code> on a single machine.
          </p>
        </main>
      </Shell>
    );
  }
  if (auth.needsSignIn) return <SignIn auth={auth} returnTo={`${location.path}${location.search.size > 0 ? `?${location.search.toString()}` : ''}`} />;

  const onSignOut = (): void => {
    auth.signOut();
    setVersion((v) => v + 1);
  };
  return (
    <AppContext.Provider value={{ api, auth }}>
      <Shell user={auth.user?.name ?? auth.user?.subject ?? null} onSignOut={config.mode === 'oidc' ? onSignOut : undefined}>
        <Page path={location.path} />
      </Shell>
    </AppContext.Provider>
  );
}

function Page({ path }: { path: string }): ReactNode {
  let m: RegExpMatchArray | null;
  if (path === '/jobs' || path === '/jobs/') return <JobsPage />;
  if ((m = path.match(/^\/jobs\/([^/]+)\/?$/))) return <JobPage key={m[1]} jobId={decodeURIComponent(m[1] ?? '')} />;
  if ((m = path.match(/^\/runs\/([^/]+)\/tasks\/([^/]+)\/?$/)))
    return <TaskLogPage key={`${m[1]}/${m[2]}`} runId={decodeURIComponent(m[1] ?? '')} taskId={decodeURIComponent(m[2] ?? '')} />;
  if ((m = path.match(/^\/runs\/([^/]+)\/?$/))) return <RunPage key={m[1]} runId={decodeURIComponent(m[1] ?? '')} />;
  return <NoPage path={path} />;
}

/** A path the flow UI has no page for. */
function NoPage({ path }: { path: string }): ReactNode {
  useDocumentTitle('Not found');
  return (
    <main id="main" tabIndex={-1}>
      <h1>Not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <Link to="/jobs">See the jobs</Link>.
      </p>
    </main>
  );
}

function Shell({ children, user, onSignOut }: { children: ReactNode; user?: string | null; onSignOut?: (() => void) | undefined }): ReactNode {
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/jobs" className="brand" aria-label="Sluice, all jobs">
          <img src="/favicon.svg" alt="" width="22" height="22" /> Sluice
        </Link>
        <nav aria-label="Main">
          <Link to="/jobs">Jobs</Link>
        </nav>
        <div className="user">
          <ZoneSwitch />
          {user ? <span className="user-name" data-testid="user-name">{user}</span> : null}
          {onSignOut ? (
            <button type="button" className="link-button" onClick={onSignOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      {children}
    </>
  );
}

/** The times' zone: the browser's or UTC, for every page (Airflow's UI has the same switch). */
function ZoneSwitch(): ReactNode {
  const zone = useDisplayZone();
  return (
    <div className="zone-switch" role="group" aria-label="Times shown in">
      {(['local', 'UTC'] as const).map((z) => (
        <button key={z} type="button" className="link-button" aria-pressed={zone === z} onClick={() => setDisplayZone(z)}>
          {z === 'local' ? 'Local time' : 'UTC'}
        </button>
      ))}
    </div>
  );
}

function SignIn({ auth, returnTo }: { auth: Auth; returnTo: string }): ReactNode {
  /** Why the API refused the viewer's last token (QA round 32b: a silent sign-in loop). */
  const refused = auth.refusal;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Shell>
      <main id="main" tabIndex={-1} className="signin">
        <h1>Sign in to Sluice</h1>
        {refused !== null ? (
          <p role="alert" className="error" data-testid="sign-in-refused">
            The server refused your sign-in: {refused}.
          </p>
        ) : null}
        <p>Sluice uses your organisation's sign-in. You will come back to this page afterwards.</p>
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            auth.signIn(returnTo).catch((err: unknown) => {
              setBusy(false);
              setError(err instanceof Error ? err.message : String(err));
            });
          }}
        >
          Sign in
        </button>
        <ActionStatus error={error} />
      </main>
    </Shell>
  );
}

/** A code can be exchanged once: one exchange per callback URL, however often the page renders. */
const exchanges = new Map<string, Promise<string>>();

function Callback({ auth, onDone }: { auth: Auth; onDone(to: string): void }): ReactNode {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    const href = window.location.href;
    let exchange = exchanges.get(href);
    if (exchange === undefined) {
      exchange = auth.completeSignIn(new URL(href));
      exchanges.set(href, exchange);
    }
    exchange
      .then((to) => {
        if (!cancelled) onDone(to);
      })
      .catch((err: unknown) => {
        if (!cancelled) setError(err instanceof Error ? err.message : String(err));
      });
    return () => {
      cancelled = true;
    };
  }, [auth, onDone]);
  return (
    <Shell>
      <main id="main" tabIndex={-1}>
        {error === null ? (
          <p className="muted">Signing in…</p>
        ) : (
          <>
            <h1>Sign-in failed</h1>
            <p role="alert" className="error">{error}</p>
            <Link to="/jobs">Try again</Link>
          </>
        )}
      </main>
    </Shell>
  );
}
