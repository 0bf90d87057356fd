# The pipeline image for docker-compose.yml: `newsbeam` is the entrypoint, `run` the default.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies change less often than code: install them in their own layer first.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY connectors ./connectors
COPY transforms ./transforms
COPY pipelines ./pipelines
COPY infra ./infra
RUN pip install --no-deps . && rm -rf build *.egg-info

# The seed articles, so `docker compose run --rm pipeline publish seeds` works.
COPY seeds ./seeds

RUN useradd --create-home --shell /usr/sbin/nologin newsbeam
USER newsbeam

ENTRYPOINT ["newsbeam"]
CMD ["run"]
