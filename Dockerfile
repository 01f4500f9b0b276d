# syntax=docker/dockerfile:1
# ncebot: build a wheel in one stage, install it into a clean slim image in the next.
#   docker build -t ncebot .
#   docker run --env-file ncebot.env -v ncebot-data:/data -p 3000:3000 ncebot

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY sandbox ./sandbox
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/ncebot.db
RUN groupadd --system --gid 10001 ncebot \
    && useradd --system --uid 10001 --gid ncebot --home-dir /home/ncebot --create-home --shell /usr/sbin/nologin ncebot \
    && mkdir -p /data \
    && chown ncebot:ncebot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /home/ncebot
VOLUME ["/data"]
EXPOSE 3000
USER 10001:10001
# The app serves GET /healthz on $PORT; 200 when the database, scheduler and poller lease are healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4); sys.exit(0 if r.status == 200 else 1)"]
CMD ["ncebot", "run"]
