/**
 * graphql-codegen: types for every graphql(`...`) document in src/ from the repository's
 * exported schema. The schema file ends in .schema, which codegen's file loader does not
 * read, so it is passed as SDL text. KAI_CONSOLE_SCHEMA names another schema file (the
 * pytest wrapper uses it to prove that a breaking schema change fails codegen or tsc).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { CodegenConfig } from "@graphql-codegen/cli";

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
