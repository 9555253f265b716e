/**
 * Two pages, one build: the console (index.html) and GraphiQL (graphiql.html), written into
 * the Python package (kai/console/) so that `kai serve` serves them with no Node.js. The
 * console's first load never pulls in GraphiQL: they share only React.
 */
import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: here("../kai/console"),
    emptyOutDir: true,
    // Content-hashed file names only: the output is the same for the same sources and lock.
    assetsDir: "assets",
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 6000,
    rollupOptions: {
      input: {
        index: here("index.html"),
        graphiql: here("graphiql.html"),
      },
    },
  },
  worker: { format: "es" },
});
