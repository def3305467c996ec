FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY hub hub
COPY flows flows
COPY connectors connectors
COPY mappings mappings
RUN pip install --no-cache-dir -c requirements.lock .
