// Builds the loader the bank's page includes: dist/widget.js, one self-contained classic script
// (an IIFE, so it works in a plain <script> tag without type="module"). It runs second, after the
// frame build, and must not empty dist/.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    sourcemap: false,
    // Banks still see old browsers on their home pages; the loader is tiny, so target widely.
    target: 'es2017',
    lib: {
      entry: 'src/loader/widget.ts',
      formats: ['iife'],
      name: 'JoxAIWidgetLoader',
      fileName: () => 'widget.js',
    },
  },
});
