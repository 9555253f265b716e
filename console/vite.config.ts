/**
 * Two pages, one build: the console (index.html) and GraphiQL (graphiql.html), written into
 * the Python package (kai/console/) so that `kai serve` serves them with no Node.js. The
 * console's first load never pulls in GraphiQL: they share only React. The console's manifest
 * of documents (codegen's src/gql/persisted-documents.json) goes beside them, as
 * kai/console/persisted-documents.json: the server reads it at start and always runs what it
 * lists, since the console names its documents only by id (src/app/persisted.ts).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Emits the console's manifest, as codegen wrote it, into the build. */
function consoleManifest(): Plugin {
  const manifest = here("src/gql/persisted-documents.json");
  return {
    name: "kai-console-manifest",
    apply: "build",
    buildStart() {
      this.addWatchFile(manifest);
    },
    generateBundle() {
      this.emitFile({ type: "asset", fileName: "persisted-documents.json", source: readFileSync(manifest, "utf8") });
    },
  };
}

export default defineConfig({
  plugins: [react(), consoleManifest()],
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
