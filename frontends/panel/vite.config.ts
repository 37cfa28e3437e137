import { defineConfig } from 'vite';

// The all-in-one JoxAI process serves dist/ under /panel/ (joxai/src/frontends.rs), with unknown
// paths falling back to index.html so deep links like /panel/tickets/… work on reload.
//
// No @vitejs/plugin-react: esbuild compiles TSX with the automatic runtime on its own, and one
// plugin fewer is one fewer thing to break on a Vite upgrade. We only lose React Fast Refresh in
// `npm run dev`, which a full reload replaces well enough.
export default defineConfig({
  base: '/panel/',
  esbuild: { jsx: 'automatic' },
  // No source maps: the server refuses `*.map` anyway, and a build without them cannot leak the source.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    // `npm run dev` against a local `make run` on port 5000.
    proxy: { '/api': { target: 'http://127.0.0.1:5000', ws: true } },
  },
  test: { include: ['tests/unit/**/*.test.ts'], environment: 'node' },
});
