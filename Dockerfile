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

COPY setup.py MANIFEST.in ./
COPY schemas schemas
COPY connectors connectors
COPY streams streams
COPY ioc ioc
COPY deploy deploy
# A regular (not editable) install, as from a wheel: migrations, dashboards and rules are
# package data (ioc/_deploy, decision 0018). deploy/ stays for the compose scripts
# (deploy/compose/*.sh). No .git here: pass --build-arg IOC_BUILD_COMMIT=$(git rev-parse HEAD)
# for `ioc --version` and ioc_build_info to name the commit.
ARG IOC_BUILD_COMMIT=unknown
RUN IOC_BUILD_COMMIT=${IOC_BUILD_COMMIT} pip install --no-deps --no-build-isolation . \
    && rm -rf build *.egg-info \
    && mkdir -p /data /rendered && useradd --system --home /data ioc \
    && chown ioc /data /rendered
USER ioc
CMD ["ioc", "--help"]
