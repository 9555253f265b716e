# kAI: one image for `kai serve`, `kai worker` and `kai migrate`.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first: they change less often than the code, so the layer is reused.
# The workspace's members (packages/kai-sdk) are named by their pyproject.toml alone here.
COPY pyproject.toml uv.lock README.md ./
COPY packages/kai-sdk/pyproject.toml packages/kai-sdk/README.md ./packages/kai-sdk/
RUN uv sync --locked --no-dev --no-install-workspace
COPY packages ./packages
COPY kai ./kai
COPY migrations ./migrations
RUN uv sync --locked --no-dev

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app kai
WORKDIR /app
COPY --from=build --chown=kai:kai /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 KAI_DATA_DIR=/app/data
USER kai
EXPOSE 8000
# Liveness: the process answers. Readiness (/readyz) is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["kai", "serve", "--host", "0.0.0.0", "--port", "8000"]
