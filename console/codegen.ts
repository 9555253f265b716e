/**
 * graphql-codegen: types for every graphql(`...`) document in src/ from the repository's
 * exported schema. The schema file ends in .schema, which codegen's file loader does not
 * read, so it is passed as SDL text. KAI_CONSOLE_SCHEMA names another schema file (the
 * pytest wrapper uses it to prove that a breaking schema change fails codegen or tsc).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

const schemaPath =
  process.env.KAI_CONSOLE_SCHEMA ?? fileURLToPath(new URL("../graphql.schema", import.meta.url));

const config: CodegenConfig = {
  overwrite: true,
  schema: readFileSync(schemaPath, "utf8"),
  documents: ["src/**/*.ts", "src/**/*.tsx", "!src/gql/**"],
  emitLegacyCommonJSImports: false,
  ignoreNoDocuments: false,
  errorsOnly: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        // src/gql/persisted-documents.json (id -> document text): the console's manifest,
        // which the build ships beside index.html (vite.config.ts) and the server it is built
        // into always runs (kai/graphql/trusted_documents.py). Each document's id is embedded
        // in it as `__meta__.hash`, `sha256:<hex>` of the listed text (so its hex is also the
        // APQ hash), and the console sends that instead of the text (src/app/persisted.ts).
        persistedDocuments: {
          mode: "embedHashInDocument",
          hashAlgorithm: "sha256",
        },
      },
      // The listed texts select __typename wherever urql's cacheExchange would add it before
      // sending a text: the server runs the listed text, and urql's cache reads the typenames
      // of each result to know which queries a mutation made stale.
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: {
          DateTime: "string",
          JSON: "unknown",
          Upload: "File | Blob",
        },
      },
    },
  },
};

export default config;
