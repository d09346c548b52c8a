# One image for web, worker and beat; docker-compose.yml runs each as its own service.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 POSTURE_VAR_DIR=/var/lib/posture
WORKDIR /app
COPY pyproject.toml ./
COPY posture ./posture
COPY clusters ./clusters
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --uid 10001 --no-create-home posture \
    && mkdir -p /var/lib/posture && chown posture /var/lib/posture
USER 10001
EXPOSE 8000
CMD ["gunicorn", "posture.site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
