import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Tauri serves `dist/` under a strict CSP (default-src 'self'): everything must be a file — no inline
// scripts, no injected <style> tags, no CDN — so CSS is emitted as files and the preload polyfill is off.
export default defineConfig({
  plugins: [svelte({ emitCss: true })],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    target: "es2022",
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
