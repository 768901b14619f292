"""Three real transports: HTTP/JSON, AMQP request/reply (RabbitMQ), read-only SQL.

Each is a :class:`~fortify.federation.connectors.Connector`; :func:`build_connector`
chooses one from a source's ``transport``. Credentials come from environment variables
named in the settings file, never from code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import ssl
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from fortify.errors import ConfigError
from fortify.federation.config import SourceConfig
from fortify.federation.connectors import Connector, OutboundQuery, SourceFailure, parse_json
from fortify.federation.records import MAX_RECORDS

log = logging.getLogger(__name__)
_HTTP_STATUS = {
    401: "refused",
    403: "refused",
    404: "not_on_file",
    429: "temporarily_unavailable",
    502: "temporarily_unavailable",
    503: "temporarily_unavailable",
    504: "temporarily_unavailable",
}


class HttpConnector(Connector):
    """POSTs the query as JSON; the answer is read up to ``max_answer_bytes``."""

    transport = "http"

    def __init__(self, cfg: SourceConfig, max_answer_bytes: int) -> None:
        super().__init__(cfg, max_answer_bytes)
        if not cfg.url or not cfg.url.startswith(("http://", "https://")):
            raise ConfigError(f"source '{cfg.name}': http needs an http(s) url")
        self.url = cfg.url
        # building an SSL context costs ~70 ms of CPU: once per source, not once per query
        self._tls: ssl.SSLContext | bool = (
            ssl.create_default_context() if cfg.url.startswith("https://") else False
        )
        self.headers = {"Content-Type": "application/json", **cfg.headers}
        token = cfg.secret(cfg.token_env)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    async def fetch(self, query: OutboundQuery) -> Any:
        timeout = httpx.Timeout(self.timeout_s)
        body = json.dumps(query.to_message()).encode("utf-8")
        headers = {**self.headers, "X-Query-Id": query.query_id}
        try:
            async with (
                httpx.AsyncClient(
                    timeout=timeout, follow_redirects=False, verify=self._tls
                ) as client,
                client.stream("POST", self.url, content=body, headers=headers) as resp,
            ):
                status = _HTTP_STATUS.get(resp.status_code)
                if status == "not_on_file":
                    return {"status": "not_on_file"} if not self.cfg.map else []
                if status is not None:
                    raise SourceFailure(status, f"HTTP {resp.status_code}")  # type: ignore[arg-type]
                if resp.status_code != 200:
                    raise SourceFailure("error", f"HTTP {resp.status_code}")
                data = bytearray()
                async for chunk in resp.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > self.max_answer_bytes:
                        raise SourceFailure(
                            "error", f"answer larger than {self.max_answer_bytes} bytes"
                        )
        except httpx.TimeoutException as exc:
            raise SourceFailure("timeout", "no answer within the source's timeout") from exc
        except httpx.TransportError as exc:
            raise SourceFailure(
                "temporarily_unavailable", f"cannot reach the source ({type(exc).__name__})"
            ) from exc
        return parse_json(bytes(data), self.max_answer_bytes)


class AmqpConnector(Connector):
    """Request/reply over RabbitMQ: reply-to queue + correlation id (message-switched)."""

    transport = "amqp"

    def __init__(self, cfg: SourceConfig, max_answer_bytes: int) -> None:
        super().__init__(cfg, max_answer_bytes)
        if not cfg.url or not cfg.url.startswith(("amqp://", "amqps://")) or not cfg.queue:
            raise ConfigError(f"source '{cfg.name}': amqp needs an amqp(s) url and a queue")
        from yarl import URL

        url = URL(cfg.url)
        if cfg.username:
            url = url.with_user(cfg.username)
        password = cfg.secret(cfg.password_env)
        if password is not None:
            url = url.with_password(password)
        self.url = str(url)
        self.queue = cfg.queue

    async def fetch(self, query: OutboundQuery) -> Any:
        import aio_pika
        from aio_pika.exceptions import AMQPConnectionError, DeliveryError

        try:
            conn = await aio_pika.connect(self.url, timeout=self.timeout_s)
        except (TimeoutError, AMQPConnectionError, OSError) as exc:
            raise SourceFailure(
                "temporarily_unavailable", f"cannot reach the broker ({type(exc).__name__})"
            ) from exc
        try:
            channel = await conn.channel(publisher_confirms=True)
            reply_q = await channel.declare_queue("", exclusive=True, auto_delete=True)
            got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

            async def on_reply(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
                async with msg.process():
                    if msg.correlation_id == query.query_id and not got.done():
                        got.set_result(msg.body)

            await reply_q.consume(on_reply)
            message = aio_pika.Message(
                json.dumps(query.to_message()).encode("utf-8"),
                content_type="application/json",
                correlation_id=query.query_id,
                reply_to=reply_q.name,
                expiration=self.timeout_s,
            )
            try:
                await channel.default_exchange.publish(
                    message, routing_key=self.queue, mandatory=True
                )
            except DeliveryError as exc:
                raise SourceFailure(
                    "temporarily_unavailable", f"no consumer queue '{self.queue}'"
                ) from exc
            body = await got
        finally:
            await conn.close()
        return parse_json(body, self.max_answer_bytes)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class SqlConnector(Connector):
    """Parameterised SELECTs in a read-only transaction (PostgreSQL; SQLite query_only)."""

    transport = "sql"

    def __init__(self, cfg: SourceConfig, max_answer_bytes: int) -> None:
        super().__init__(cfg, max_answer_bytes)
        if not cfg.url or not cfg.queries:
            raise ConfigError(f"source '{cfg.name}': sql needs a url and queries")
        for kind, sql in cfg.queries.items():
            if kind not in cfg.accepts:
                raise ConfigError(f"source '{cfg.name}': query for unaccepted key '{kind}'")
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                raise ConfigError(f"source '{cfg.name}': queries must be SELECT statements")
        url = make_url(cfg.url)
        password = cfg.secret(cfg.password_env)
        if password is not None:
            url = url.set(password=password)
        self.dialect = url.get_backend_name()
        args: dict[str, Any] = {}
        if self.dialect == "postgresql":
            args["connect_timeout"] = max(1, int(self.timeout_s))
        self._engine: Engine = create_engine(url, pool_pre_ping=True, connect_args=args)

    def _run(self, query: OutboundQuery) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        with self._engine.connect() as c:
            if self.dialect == "postgresql":
                c.exec_driver_sql("SET TRANSACTION READ ONLY")
                c.exec_driver_sql(f"SET LOCAL statement_timeout = {int(self.cfg.timeout_ms)}")
            elif self.dialect == "sqlite":
                c.exec_driver_sql("PRAGMA query_only = ON")
            for kind, sql in self.cfg.queries.items():
                need = ["name", "dob"] if kind == "name_dob" else [kind]
                if not all(query.keys.get(k) for k in need):
                    continue
                params = {k: query.keys[k] for k in need}
                res = c.execute(text(sql), params).mappings().fetchmany(MAX_RECORDS + 1)
                rows.extend({k: _plain(v) for k, v in r.items()} for r in res)
            c.rollback()
        if len(json.dumps(rows, default=str)) > self.max_answer_bytes:
            raise SourceFailure("error", f"answer larger than {self.max_answer_bytes} bytes")
        return rows

    async def fetch(self, query: OutboundQuery) -> Any:
        try:
            return await asyncio.to_thread(self._run, query)
        except OperationalError as exc:
            text_ = str(exc.orig).lower() if exc.orig else ""
            if "timeout" in text_ or "canceling statement" in text_:
                raise SourceFailure("timeout", "statement timeout") from exc
            if "readonly" in text_ or "read-only" in text_:
                raise SourceFailure("error", "a write was refused (read-only)") from exc
            raise SourceFailure("temporarily_unavailable", "cannot reach the database") from exc
        except SQLAlchemyError as exc:
            raise SourceFailure("error", f"query failed ({type(exc).__name__})") from exc

    def dispose(self) -> None:
        self._engine.dispose()


TRANSPORTS: dict[str, type[Connector]] = {
    "http": HttpConnector,
    "amqp": AmqpConnector,
    "sql": SqlConnector,
}


def build_connector(cfg: SourceConfig, max_answer_bytes: int) -> Connector:
    return TRANSPORTS[cfg.transport](cfg, max_answer_bytes)
