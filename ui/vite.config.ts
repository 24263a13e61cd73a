/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The build goes into the Go package that embeds it (internal/ui/dist);
// public/.keep keeps that folder in Git between builds.
// `npm run dev` sends API calls to a running `tether run` (TETHER_URL).
declare const process: { env: Record<string, string | undefined> };
const api = process.env.TETHER_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../internal/ui/dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
  server: {
    proxy: { "/api": api, "/auth": api },
  },
  test: { include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
