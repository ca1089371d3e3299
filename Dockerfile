# The IOC pipeline's image: every `ioc` command (worker, sink, alerter, connectors,
# simulator, db/topics setup). Used by deploy/docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 IOC_DATA_DIR=/data
WORKDIR /app

# Dependencies first (a layer that survives code changes), exactly the runtime lock with
# every hash checked (decision 0017), then the code without resolving anything.
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md LICENSE THIRD_PARTY_NOTICES.md ./

COPY schemas schemas
COPY connectors connectors
COPY streams streams
COPY ioc ioc
COPY deploy deploy
# Editable, so the code finds deploy/ (migrations, templates) beside it, as in a checkout.
RUN pip install --no-deps --no-build-isolation -e . \
    && mkdir -p /data /rendered && useradd --system --home /data ioc \
    && chown ioc /data /rendered
USER ioc
CMD ["ioc", "--help"]
