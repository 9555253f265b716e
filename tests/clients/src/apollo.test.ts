/**
 * @apollo/client 4 with apollo-upload-client: a file sent as a GraphQL multipart request
 * (uploadFile), then its metadata read back with the `file` query. Apollo's
 * PersistedQueryLink names each document by the hash codegen listed it under (APQ's
 * `extensions.persistedQuery.sha256Hash`, in a JSON body or in multipart `operations`),
 * never by its text; or, as the GraphQL-over-HTTP persisted documents appendix has it, by
 * `documentId`, which Apollo Client does not send on its own (see `withDocumentId`).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { ApolloClient, ApolloLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

import { REGISTER } from "./documents.js";
import { GRAPHQL_URL, PASSWORD, TEST_TIMEOUT_MS, uniqueEmail } from "./env.js";
import { graphql } from "./gql/index.js";
import { assertAllNamedBy, type Naming, recordingFetch, type Sent, sha256Of } from "./persisted.js";

const UPLOAD_FILE = graphql(`
  mutation UploadFile($file: Upload!) {
    uploadFile(file: $file) {
      id
      originalName
      size
      mimeType
      checksum
      scanStatus
      uploadedAt
      uploadedBy {
        id
        email
      }
    }
  }
`);

const FILE_METADATA = graphql(`
  query FileMetadata($id: ID!) {
    file(id: $id) {
      id
      originalName
      size
      mimeType
      checksum
      scanStatus
      url
      uploadedBy {
        id
        email
      }
    }
  }
`);

/**
 * Apollo's persisted queries link, sending the hash codegen embedded in each document (the
 * SHA-256 of the text it listed: the server matches an APQ hash against the SHA-256 of each
 * listed text) and never the text: not when the server does not know the hash (retry), nor
 * when it does not persist documents (disable).
 */
function persistedQueries(): ApolloLink {
  return new PersistedQueryLink({
    generateHash: (document) => sha256Of(document),
    retry: () => false,
    disable: () => false,
  });
}

/**
 * A fetch for UploadHttpLink that names each document by `documentId` (`sha256:<hex>`, its
 * id in the manifest) where Apollo's link put its hash: in a JSON body, or in a multipart
 * request's `operations`, its files left as they are.
 */
function withDocumentId(send: typeof fetch): typeof fetch {
  function renamed(operations: string): string {
    const { extensions, ...request } = JSON.parse(operations) as Sent & {
      extensions?: { persistedQuery?: { sha256Hash?: string } };
    };
    const { persistedQuery, ...others } = extensions ?? {};
    assert.ok(persistedQuery?.sha256Hash, `no hash to name the document by: ${operations}`);
    const renaming = { ...request, documentId: `sha256:${persistedQuery.sha256Hash}` };
    const kept = Object.keys(others).length > 0 ? { ...renaming, extensions: others } : renaming;
    return JSON.stringify(kept);
  }
  return (input, init) => {
    const body = init?.body;
    if (typeof body === "string") {
      return send(input, { ...init, body: renamed(body) });
    }
    assert.ok(body instanceof FormData, "a body that is neither JSON nor multipart");
    const form = new FormData();
    for (const [name, value] of body) {
      const operations = name === "operations" && typeof value === "string";
      form.append(name, operations ? renamed(value) : value);
    }
    return send(input, { ...init, body: form });
  };
}

function apolloClient(
  naming: Naming,
  sent: Sent[],
  headers: Record<string, string>,
): ApolloClient {
  const recording = recordingFetch(sent);
  const fetch = naming === "documentId" ? withDocumentId(recording) : recording;
  const upload = new UploadHttpLink({ uri: GRAPHQL_URL, headers, fetch });
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([persistedQueries(), upload]),
  });
}

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };

for (const naming of ["sha256Hash", "documentId"] as const) {
  const name = `apollo-upload-client by ${naming}: uploadFile, then the file query reads it back`;
  test(name, TIMEOUT, () => uploadFlow(naming));
}

async function uploadFlow(naming: Naming): Promise<void> {
  const sent: Sent[] = [];
  const email = uniqueEmail("apollo");
  const registered = await apolloClient(naming, sent, {}).mutate({
    mutation: REGISTER,
    variables: { input: { email, password: PASSWORD } },
  });
  assert.equal(registered.error, undefined);
  assert.ok(registered.data !== undefined);
  const { accessToken, user } = registered.data.register;

  const client = apolloClient(naming, sent, {
    authorization: `Bearer ${accessToken}`,
    // What Apollo users send so a multipart POST is not a CSRF-able "simple" request.
    "Apollo-Require-Preflight": "true",
  });
  const content = "An upload from @apollo/client and apollo-upload-client.\nünïcödé ✓\n";
  const bytes = Buffer.from(content, "utf8");
  const file = new File([bytes], "apollo-notes.txt", { type: "text/plain" });

  const uploaded = await client.mutate({ mutation: UPLOAD_FILE, variables: { file } });
  assert.equal(uploaded.error, undefined);
  assert.ok(uploaded.data !== undefined);
  const { uploadFile } = uploaded.data;
  const checksum = createHash("sha256").update(bytes).digest("hex");
  assert.equal(uploadFile.originalName, "apollo-notes.txt");
  assert.equal(uploadFile.size, bytes.length);
  assert.equal(uploadFile.mimeType, "text/plain");
  assert.equal(uploadFile.checksum, checksum);
  assert.equal(uploadFile.uploadedBy.email, email);
  assert.ok(["CLEAN", "SKIPPED"].includes(uploadFile.scanStatus), uploadFile.scanStatus);

  const read = await client.query({
    query: FILE_METADATA,
    variables: { id: uploadFile.id },
    fetchPolicy: "network-only",
  });
  assert.equal(read.error, undefined);
  const stored = read.data?.file;
  assert.ok(stored !== undefined && stored !== null, "the file is not found");
  assert.deepEqual(
    {
      id: stored.id,
      originalName: stored.originalName,
      size: stored.size,
      mimeType: stored.mimeType,
      checksum: stored.checksum,
      uploadedBy: stored.uploadedBy.id,
    },
    {
      id: uploadFile.id,
      originalName: "apollo-notes.txt",
      size: bytes.length,
      mimeType: "text/plain",
      checksum,
      uploadedBy: user.id,
    },
  );
  assert.match(stored.url, /^https?:\/\//);
  // register (JSON), uploadFile (multipart) and file (JSON), none sent with its text.
  assert.equal(sent.length, 3);
  assert.deepEqual(sent[1]?.["variables"], { file: null }, "no multipart operations recorded");
  assertAllNamedBy(sent, naming);
}
