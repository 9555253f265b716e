/**
 * @apollo/client 4 with apollo-upload-client: a file sent as a GraphQL multipart request
 * (uploadFile), then its metadata read back with the `file` query.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { ApolloClient, InMemoryCache } from "@apollo/client";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";

import { REGISTER } from "./documents.js";
import { GRAPHQL_URL, PASSWORD, TEST_TIMEOUT_MS, uniqueEmail } from "./env.js";
import { graphql } from "./gql/index.js";

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

function apolloClient(headers: Record<string, string>): ApolloClient {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: new UploadHttpLink({ uri: GRAPHQL_URL, headers }),
  });
}

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };

test("apollo-upload-client: uploadFile, then the file query reads it back", TIMEOUT, async () => {
  const email = uniqueEmail("apollo");
  const registered = await apolloClient({}).mutate({
    mutation: REGISTER,
    variables: { input: { email, password: PASSWORD } },
  });
  assert.equal(registered.error, undefined);
  assert.ok(registered.data !== undefined);
  const { accessToken, user } = registered.data.register;

  const client = apolloClient({
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
});
