import { defineConfig } from 'vite';

// Tauri embeds `dist/` into the binary (see src-tauri/tauri.conf.json).
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK 2.40+ (Debian 12), WebView2 and WKWebView all run ES2021.
    target: 'es2021',
    // Small SVGs become data: URLs; the CSP allows `img-src 'self' data:`.
    assetsInlineLimit: 8192,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
