// Builds the chat app that runs inside the iframe: dist/frame.html and its hashed assets.
// The loader (dist/widget.js) has its own config, vite.loader.config.ts, because it must be one
// small classic script with no React in it.
import { defineConfig } from 'vite';

export default defineConfig({
  // The all-in-one process serves frontends/widget/dist under /widget/.
  base: '/widget/',
  // esbuild compiles the TSX itself, so the React plugin (and its Babel) is not needed.
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No source maps in what the bank's customers download (the server refuses `*.map` too).
    sourcemap: false,
    rollupOptions: { input: { frame: 'frame.html' } },
  },
  test: { include: ['src/**/*.test.ts'] },
} as import('vite').UserConfig & { test?: unknown });
