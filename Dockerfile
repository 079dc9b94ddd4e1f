# syntax=docker/dockerfile:1
# helpapi: multi-stage image. PyICU compiles in the builder; the runtime has only ICU's library.

FROM python:3.11-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libicu-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY helpapi ./helpapi
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libicu72 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin helpapi
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY wsgi.py gunicorn.conf.py ./
COPY corpus ./corpus
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HELPAPI_CORPUS_DIR=/app/corpus \
    HELPAPI_INDEX_DIR=/app/index \
    HELPAPI_BIND=0.0.0.0:8000
# Index the bundled corpus at build time, then hand the index folder to the service user
# (admin reindexes write new generations beside it).
RUN helpapi index build --jobs 2 && chown -R helpapi:helpapi /app/index
USER helpapi
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2); sys.exit(0)"]
ENTRYPOINT ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
