import { createContext, useCallback, useContext, useEffect, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

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
  useEffect(() => {
    const onPop = (): void => setLocation(current());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string, options?: NavigateOptions) => {
    if (options?.replace) window.history.replaceState(null, '', to);
    else window.history.pushState(null, '', to);
    setLocation(current());
    if (options?.keepScroll !== true) window.scrollTo(0, 0);
  }, []);
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
