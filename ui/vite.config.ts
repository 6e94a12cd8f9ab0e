import { defineConfig } from 'vite';

// No React plugin: Vite 8 transforms TSX with Oxc; we only ask for the automatic JSX runtime.
// Fast Refresh is not needed because the UI is developed against the built server, not HMR.
export default defineConfig({
  base: './',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'react' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    // `npm run dev -w ui` proxies the API to a locally running server.
    proxy: { '/api': process.env.ROOTSIGHT_API ?? 'http://127.0.0.1:8080' },
  },
});
