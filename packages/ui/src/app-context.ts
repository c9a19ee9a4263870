import { createContext, useContext } from 'react';
import type { ApiClient } from './api/client.ts';
import type { Auth } from './auth/auth.ts';

export interface AppServices {
  api: ApiClient;
  auth: Auth;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const v = useContext(AppContext);
  if (v === null) throw new Error('useApp outside the app');
  return v;
}
