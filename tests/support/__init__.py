"""What tests share: helpers, clients, and the servers tests start. Test modules import from
here, never from one another or from conftest (which holds only the fixtures every module
gets, and imports what it needs from here too).

Apps and settings:
- apps: the app on custom settings (`running_app`), a client from a given address
  (`client_at`), `services_of`, the mail sent (`record_mail`, `link_in`, `token_of`).
- settings: `make_settings` (development, fast, generous rate limits), `TEST_SECRET`,
  `production` (the production profile).
- databases: a new PostgreSQL database per use (`postgres_database`), or a skip.

Clients and what they send:
- graphql_client: GraphQL over HTTP (`GraphQLClient`, `Result`), register/login documents.
- ws_client: GraphQL over WebSocket, both protocols (`ws_connect`, `WSClient`).
- sse_client: GraphQL over Server-Sent Events (`sse_subscribe`, `SSEStream`).
- uploads: multipart uploads, streamed or not; the file documents.
- agents: `signed_in`, `create_echo` and the agent documents.
- files: sample file contents (NOTES, PNG, PDF...), `relative` links, what the store holds.
- subscriptions: the subscription documents, `kai_server` (the app under uvicorn with a
  client), `owner_with_agent`, the `overflowed` fixture, over-limit documents (W4).

Servers:
- servers: an app under uvicorn (`serve_app`), a `kai serve` process (`kai_serve`),
  `free_port`, `clean_env`, `ROOT`.
- processes: `kai serve` and `kai worker` processes to kill and stop at will
  (`processes`, `KaiProcess`).
- redis_server, postgres_server, clamd_server, s3_server: real Redis, PostgreSQL, clamd and
  S3 (moto), shared or owned by a test.
- fake_openai: OpenAI-compatible servers (`FakeOpenAI`; `SilentLLM` and its fixture).
- task_runtime: an agent type loaded into `kai` processes, whose tasks leave traces.

Plugin:
- stream_leaks: fails the test that leaves an async generator, task outcome or coroutine
  to the garbage collector (loaded by conftest's `pytest_plugins`).
"""
