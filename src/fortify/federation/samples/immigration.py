"""Sample immigration / border-encounter service over HTTP (SYNTHETIC records).

Answers in the native record format: immigration status and border encounters.
``python -m fortify.federation.samples.immigration --port 0 [--delay 3]``
"""

from __future__ import annotations

import argparse
from typing import Any

from fortify.federation.samples import common, data


def handler(dataset: dict[str, list[dict[str, Any]]]) -> Any:
    def handle(req: dict[str, Any]) -> common.Answer:
        keys = common.require_keys(req)
        if keys is None:
            return 403, {"status": "refused", "reason": "operator, purpose and code required"}
        records: list[dict[str, Any]] = []
        for r in dataset["immigration"]:
            if not common.matches(keys, r["reference"], r["name"], r["dob"]):
                continue
            subject = {"name": r["name"], "dob": r["dob"], "reference": r["reference"]}
            records.append(
                {
                    "kind": "status",
                    "id": r["id"],
                    "subject": subject,
                    "data": {"status": r["status"], "category": "immigration",
                             "authority": "Synthetic Border Agency"},
                    "synthetic": True,
                }
            )  # fmt: skip
            for n, c in enumerate(r["crossings"]):
                records.append(
                    {
                        "kind": "encounter",
                        "id": f"{r['id']}-X{n + 1}",
                        "subject": subject,
                        "data": {"date": c["date"], "place": c["place"],
                                 "encounter_type": "border crossing"},
                        "synthetic": True,
                    }
                )  # fmt: skip
        return 200, {"status": "hit" if records else "not_on_file", "records": records}

    return handle


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="fortify.federation.samples.immigration")
    p.add_argument("--port", type=int, default=0)
    common.add_arguments(p)
    args = p.parse_args(argv)
    common.configure()
    common.watch_parent(args.parent_pid)
    common.serve_http(
        args.port, handler(data.load(args.data)), common.behaviour(args), "immigration"
    )


if __name__ == "__main__":
    main()
