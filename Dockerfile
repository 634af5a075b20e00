# «Навигатор молодого педагога» — runs migrations, then every channel that has a token.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/navigator.db \
    DATA_DIR=/data \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY content ./content
RUN pip install . \
    && useradd --create-home --uid 10001 navigator \
    && mkdir -p /data \
    && chown navigator:navigator /data

USER navigator
VOLUME ["/data"]
# Telegram webhook mode listens here when TELEGRAM_WEBHOOK_URL is set.
EXPOSE 8080

# Tokens (TELEGRAM_BOT_TOKEN, VK_GROUP_TOKEN, VK_GROUP_ID) and DATABASE_URL come from the environment.
CMD ["sh", "-c", "python -m bot migrate && exec python -m bot run"]
