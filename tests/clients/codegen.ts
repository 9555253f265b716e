/**
 * graphql-codegen: types for every graphql(`...`) document in src/ from the repository's
 * exported schema. The schema file ends in .schema, which codegen's file loader does not
 * read, so it is passed as SDL text. KAI_CLIENTS_SCHEMA names another schema file (the
 * pytest wrapper uses it to prove that a breaking schema change fails codegen or tsc).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { CodegenConfig } from "@graphql-codegen/cli";

const schemaPath =
  process.env.KAI_CLIENTS_SCHEMA ?? fileURLToPath(new URL("../../graphql.schema", import.meta.url));

const config: CodegenConfig = {
  overwrite: true,
  schema: readFileSync(schemaPath, "utf8"),
  documents: ["src/**/*.ts", "!src/gql/**"],
  emitLegacyCommonJSImports: false,
  ignoreNoDocuments: false,
  errorsOnly: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        // src/gql/persisted-documents.json (id -> document text), the manifest the server
        // under test runs with (KAI_TRUSTED_DOCUMENTS), and each document's id embedded in
        // it as `__meta__.hash`: `sha256:<hex>`, the SHA-256 of the listed text, so that
        // the ids are the GraphQL-over-HTTP appendix's and their hex is Apollo's APQ hash.
        persistedDocuments: {
          mode: "embedHashInDocument",
          hashAlgorithm: "sha256",
        },
      },
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
