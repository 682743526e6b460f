# qms-ledger under gunicorn (the web UI) or as the `qms` command.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 qms
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY projections projections
COPY web web
RUN pip install --no-cache-dir .
USER qms
ENV QMS_INSTANCE=/var/lib/qms
ENTRYPOINT ["qms"]
CMD ["status"]
