import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Everything is bundled into dist/: the page loads nothing from any other host.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: { proxy: { '/api': 'http://localhost:8080' } },
});
