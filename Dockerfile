# The IOC pipeline's image: every `ioc` command (worker, sink, alerter, connectors,
# simulator, db/topics setup). Used by deploy/docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 IOC_DATA_DIR=/data
WORKDIR /app

# Dependencies first (a layer that survives code changes), then the code.
COPY pyproject.toml README.md LICENSE THIRD_PARTY_NOTICES.md ./
RUN mkdir -p ioc schemas streams connectors \
    && touch ioc/__init__.py schemas/__init__.py streams/__init__.py connectors/__init__.py \
    && pip install . && pip uninstall -y ioc-pipeline

COPY schemas schemas
COPY connectors connectors
COPY streams streams
COPY ioc ioc
COPY deploy deploy
# Editable, so the code finds deploy/ (migrations, templates) beside it, as in a checkout.
RUN pip install --no-deps -e . && mkdir -p /data /rendered && useradd --system --home /data ioc \
    && chown ioc /data /rendered
USER ioc
CMD ["ioc", "--help"]
