import { createContext, useCallback, useContext, useEffect, useRef, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

interface Location {
  path: string;
  search: URLSearchParams;
}

interface NavigateOptions {
  /** Replace the history entry instead of adding one. */
  replace?: boolean;
  /** Stay where the page is scrolled (a change within the page, such as a list's page or filter). */
  keepScroll?: boolean;
}

interface RouterValue {
  location: Location;
  navigate(to: string, options?: NavigateOptions): void;
}

const RouterContext = createContext<RouterValue | null>(null);

const current = (): Location => ({ path: window.location.pathname, search: new URLSearchParams(window.location.search) });

/** A small history-API router: the app has five pages and needs nothing more. */
export function Router({ children }: { children: ReactNode }): ReactNode {
  const [location, setLocation] = useState<Location>(current);
  /** Another page was opened (not the first, nor a change of the address's query). */
  const pageChanged = useRef(false);
  useEffect(() => {
    const onPop = (): void => {
      pageChanged.current = true;
      setLocation(current());
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string, options?: NavigateOptions) => {
    const from = window.location.pathname;
    if (options?.replace) window.history.replaceState(null, '', to);
    else window.history.pushState(null, '', to);
    const next = current();
    if (next.path !== from) pageChanged.current = true;
    setLocation(next);
    if (options?.keepScroll !== true) window.scrollTo(0, 0);
  }, []);
  // The new page's heading takes focus, as a loaded page's reading starts at its top: the next Tab
  // goes on from there, and a screen reader says where it is (QA round 56b F2: focus stayed on the
  // page's body, and the next Tab landed anywhere).
  useEffect(() => {
    if (!pageChanged.current) return;
    pageChanged.current = false;
    const heading = document.querySelector<HTMLElement>('main h1');
    if (heading === null) return;
    if (!heading.hasAttribute('tabindex')) heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }, [location.path]);
  return <RouterContext.Provider value={{ location, navigate }}>{children}</RouterContext.Provider>;
}

/**
 * The address of this page with some query parameters set (an empty value removes one): a
 * change within the page, such as a list's filter or page, kept in the address.
 */
export function withQuery(location: Location, changes: Record<string, string>): string {
  const search = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === '') search.delete(key);
    else search.set(key, value);
  }
  const query = search.toString();
  return `${location.path}${query === '' ? '' : `?${query}`}`;
}

export function useRouter(): RouterValue {
  const v = useContext(RouterContext);
  if (v === null) throw new Error('useRouter outside <Router>');
  return v;
}

/** An anchor that navigates in-app on a plain click and behaves as a normal link otherwise. */
export function Link({ to, children, ...rest }: { to: string; children: ReactNode } & AnchorHTMLAttributes<HTMLAnchorElement>): ReactNode {
  const { navigate } = useRouter();
  const onClick = (e: MouseEvent<HTMLAnchorElement>): void => {
    rest.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} {...rest} onClick={onClick}>
      {children}
    </a>
  );
}
