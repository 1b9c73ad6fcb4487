# Production image: gunicorn serves the app; the same image runs the Celery worker and beat.
FROM node:20-bookworm-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=optional

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 earlyhelp
# DejaVu Sans for printed letters (workflows/correspondence_pdf.py): every name prints as written.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY kit kit
COPY earlyhelp earlyhelp
COPY accounts accounts
COPY cases cases
COPY workflows workflows
COPY deadlines deadlines
COPY oversight oversight
COPY tooling tooling
COPY partners partners
COPY imports imports
COPY api api
# The project without extras: no embedded servers, test or benchmark tools in the image.
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
COPY --from=frontend /build/node_modules node_modules
# collectstatic needs settings that import; these values are only for this build step.
RUN DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost:6379/0 SECRET_KEY=build-only \
    python manage.py collectstatic --no-input \
    && mkdir -p /app/.data/media /app/.data/private && chown -R earlyhelp /app/.data
USER earlyhelp
EXPOSE 8000
CMD ["gunicorn", "earlyhelp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
