# shipit as a container for CI: `docker run --rm -v $PWD:/app -w /app -e KUBECONFIG ... shipit release --yes`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# git: shipit reads the release's range from the app's repository.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*'

WORKDIR /opt/shipit
COPY pyproject.toml README.md ./
COPY shipit ./shipit
RUN pip install . && useradd --create-home --uid 10001 shipit

USER shipit
WORKDIR /app
ENTRYPOINT ["shipit"]
CMD ["--help"]
