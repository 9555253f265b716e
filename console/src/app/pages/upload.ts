/**
 * One file up as a GraphQL multipart request (jaydenseric's spec), over XMLHttpRequest
 * because fetch reports no upload progress. kAI refuses a multipart POST without an
 * Authorization header (or a preflight header) as a possible cross-site forgery, so the
 * bearer token always goes with it. The mutation is named by its `documentId` in `operations`,
 * not sent as text (persisted.ts).
 */
import { CombinedError } from "@urql/core";
import type { GraphQLError } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";

import { documentIdOf, operationNameOf } from "../persisted";

export type UploadProgress = { loaded: number; total: number | null };

export type UploadOptions<Data, Variables> = {
  url?: string;
  /** A mutation whose `$file: Upload!` variable takes the file. */
  document: TypedDocumentNode<Data, Variables>;
  /** The other variables. */
  variables: Omit<Variables, "file">;
  file: File;
  token: string | null;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
};

type Body<Data> = { data?: Data | null; errors?: GraphQLError[] };

/**
 * Resolves with the mutation's data; rejects with a CombinedError (the server's coded
 * errors, or a network error) that ErrorMessage puts into words, or with an AbortError.
 */
export function uploadFile<Data, Variables extends { file: unknown }>(
  options: UploadOptions<Data, Variables>,
): Promise<Data> {
  const { document, variables, file, token, onProgress, signal } = options;
  const form = new FormData();
  const operations = {
    documentId: documentIdOf(document),
    operationName: operationNameOf(document),
    variables: { ...variables, file: null },
  };
  form.append("operations", JSON.stringify(operations));
  form.append("map", JSON.stringify({ 0: ["variables.file"] }));
  form.append("0", file, file.name);

  return new Promise<Data>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", options.url ?? "/graphql");
    request.setRequestHeader("accept", "application/graphql-response+json, application/json");
    if (token) request.setRequestHeader("authorization", `Bearer ${token}`);
    request.responseType = "text";
    request.upload.onprogress = (event) => {
      onProgress?.({ loaded: event.loaded, total: event.lengthComputable ? event.total : null });
    };
    request.onload = () => {
      let body: Body<Data>;
      try {
        body = JSON.parse(request.responseText) as Body<Data>;
      } catch {
        reject(
          new CombinedError({
            networkError: new Error(`The server answered HTTP ${request.status} with no GraphQL result.`),
          }),
        );
        return;
      }
      if (body.errors?.length) {
        reject(new CombinedError({ graphQLErrors: body.errors }));
      } else if (body.data) {
        resolve(body.data);
      } else {
        reject(new CombinedError({ networkError: new Error(`HTTP ${request.status}: an empty answer.`) }));
      }
    };
    request.onerror = () => {
      reject(new CombinedError({ networkError: new Error("The upload could not reach the server.") }));
    };
    request.onabort = () => reject(new DOMException("The upload was stopped.", "AbortError"));
    signal?.addEventListener("abort", () => request.abort(), { once: true });
    request.send(form);
  });
}
