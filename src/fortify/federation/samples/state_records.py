"""Sample state records service answering over RabbitMQ (SYNTHETIC records).

Consumes a request queue; each query is answered to its ``reply_to`` queue with the
same ``correlation_id`` (message-switched, as Nlets is). Native record format:
person, driving licence, licence status.
``python -m fortify.federation.samples.state_records --queue fortify.sample.state``
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from fortify.federation.samples import common, data


def answer(dataset: dict[str, list[dict[str, Any]]], req: dict[str, Any]) -> dict[str, Any]:
    keys = common.require_keys(req)
    if keys is None:
        return {"status": "refused", "records": []}
    records: list[dict[str, Any]] = []
    for r in dataset["state"]:
        if not common.matches(keys, r["reference"], r["name"], r["dob"]):
            continue
        subject = {"name": r["name"], "dob": r["dob"], "reference": r["reference"]}
        records += [
            {"kind": "person", "id": r["id"], "subject": subject,
             "data": {"name": r["name"], "dob": r["dob"], "synthetic": True}, "synthetic": True},
            {"kind": "document", "id": r["licence"], "subject": subject,
             "data": {"doc_type": "driving licence", "number": r["licence"],
                      "issuer": "Synthetic State DMV"}, "synthetic": True},
            {"kind": "status", "id": f"{r['id']}-L", "subject": subject,
             "data": {"status": f"licence {r['licence_status']}", "category": "licence",
                      "authority": "Synthetic State DMV"}, "synthetic": True},
        ]  # fmt: skip
        if r["residency"]:
            records.append(
                {"kind": "status", "id": f"{r['id']}-R", "subject": subject,
                 "data": {"status": r["residency"], "category": "immigration",
                          "authority": "Synthetic State Registry"}, "synthetic": True}
            )  # fmt: skip
    return {"status": "hit" if records else "not_on_file", "records": records}


async def serve(url: str, queue: str, dataset: dict[str, Any], b: common.Behaviour) -> None:
    import aio_pika

    conn = await aio_pika.connect_robust(url)
    channel = await conn.channel()
    await channel.set_qos(prefetch_count=16)
    q = await channel.declare_queue(queue, auto_delete=True)

    async def reply(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with msg.process():
            if not msg.reply_to:
                return
            try:
                req = json.loads(msg.body)
            except ValueError:
                return
            if b.never:
                return
            delay = b.delay_s + (b.rng.random() * b.jitter_s if b.jitter_s else 0.0)
            if delay:
                await asyncio.sleep(delay)
            body: Any = {"status": "temporarily_unavailable"} if b.fails() else answer(dataset, req)
            await channel.default_exchange.publish(
                aio_pika.Message(
                    common.misbehave(b, body),
                    content_type="application/json",
                    correlation_id=msg.correlation_id,
                ),
                routing_key=msg.reply_to,
            )

    async def handle(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        asyncio.get_running_loop().create_task(reply(msg))

    await q.consume(handle)
    common.ready(f"amqp queue {queue}")
    await asyncio.Future()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="fortify.federation.samples.state_records")
    p.add_argument("--amqp", default="amqp://127.0.0.1:5672/", help="broker (guest login)")
    p.add_argument("--queue", default="fortify.sample.state_records")
    common.add_arguments(p)
    args = p.parse_args(argv)
    common.configure()
    common.watch_parent(args.parent_pid)
    asyncio.run(serve(args.amqp, args.queue, data.load(args.data), common.behaviour(args)))


if __name__ == "__main__":
    main()
