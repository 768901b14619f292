"""Use policy as data: a versioned TOML file of purpose categories, prohibited uses,
rate limits and places/times where searching is not allowed.

The file shipped with the package (``use_policy.toml``) is the default; the setting
``policy_file`` (``FORTIFY_POLICY_FILE``) points at another. The policy's SHA-256
digest and ``version`` go into every search's audit entry, so an auditor can tell
which rules applied. The checks here are pure: :mod:`fortify.accountability.authorize`
applies them, with the operator's training, rate and approvals, before any search.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fortify.errors import (
    CaseIdRequired,
    ConfigError,
    InvalidInput,
    PurposeProhibited,
    SearchNotAllowedHere,
)

DEFAULT_POLICY = Path(__file__).resolve().parent / "use_policy.toml"
MAX_PLACE = 100


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    requires_case_id: bool = False
    requires_approval: bool = False
    places: tuple[str, ...] = ()  # when set, a search must name a matching place


@dataclass(frozen=True)
class Prohibited:
    id: str
    label: str
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def matches(self, category: str, purpose: str) -> bool:
        if category in self.categories:
            return True
        return any(
            re.search(r"\b" + re.escape(k.lower()), purpose.lower()) for k in self.keywords if k
        )


@dataclass(frozen=True)
class NoSearch:
    """Places (globs on the place code) and/or UTC hours [start, end) with no searching."""

    id: str
    places: tuple[str, ...] = ()
    hours: tuple[int, int] | None = None

    def matches(self, place: str | None, at: datetime) -> bool:
        in_place = not self.places or (
            place is not None and any(fnmatch.fnmatchcase(place, p) for p in self.places)
        )
        if self.hours is None:
            in_time = True
        else:
            a, b = self.hours
            h = at.hour
            in_time = a <= h < b if a <= b else (h >= a or h < b)
        return in_place and in_time and (bool(self.places) or self.hours is not None)


@dataclass(frozen=True)
class UsePolicy:
    version: str
    title: str
    digest: str
    source: str
    default_category: str
    categories: dict[str, Category]
    prohibited: tuple[Prohibited, ...]
    no_search: tuple[NoSearch, ...]
    searches_per_hour: int = 0
    approval_valid_hours: float = 24.0
    training_validity_days: int = 365
    training_courses: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- checks ---------------------------------------------------------------------------
    def category(self, name: str | None) -> Category:
        cid = (name or "").strip() or self.default_category
        for p in self.prohibited:
            if cid in p.categories:
                raise PurposeProhibited(
                    f"'{cid}' is a prohibited use: {p.label}", rule=p.id, category=cid
                )
        cat = self.categories.get(cid)
        if cat is None:
            raise InvalidInput(
                f"unknown purpose category '{cid}'; one of {', '.join(self.categories)}",
                category=cid,
            )
        return cat

    def check_prohibited(self, category: str, purpose: str) -> None:
        for p in self.prohibited:
            if p.matches(category, purpose):
                raise PurposeProhibited(
                    f"the stated purpose is a prohibited use: {p.label}",
                    rule=p.id,
                    category=category,
                )

    def check_case(self, cat: Category, case_id: str | None) -> None:
        if cat.requires_case_id and not case_id:
            raise CaseIdRequired(f"searches for '{cat.id}' need a case id", category=cat.id)

    def check_place_time(self, cat: Category, place: str | None, at: datetime) -> None:
        if cat.places and not (place and any(fnmatch.fnmatchcase(place, p) for p in cat.places)):
            raise SearchNotAllowedHere(
                f"searches for '{cat.id}' are allowed only at {', '.join(cat.places)}",
                category=cat.id,
                place=place,
            )
        for rule in self.no_search:
            if rule.matches(place, at):
                raise SearchNotAllowedHere(
                    f"searching is not allowed here or now (policy rule '{rule.id}')",
                    rule=rule.id,
                    place=place,
                )

    def public(self) -> dict[str, Any]:
        """What the field app and the transparency report show."""
        return {
            "version": self.version,
            "title": self.title,
            "digest": self.digest,
            "default_category": self.default_category,
            "categories": [
                {
                    "id": c.id,
                    "label": c.label,
                    "requires_case_id": c.requires_case_id,
                    "requires_approval": c.requires_approval,
                    "places": list(c.places),
                }
                for c in self.categories.values()
            ],
            "prohibited": [{"id": p.id, "label": p.label} for p in self.prohibited],
            "no_search": [
                {"id": n.id, "places": list(n.places), "hours": list(n.hours) if n.hours else None}
                for n in self.no_search
            ],
            "searches_per_hour": self.searches_per_hour,
            "approval_valid_hours": self.approval_valid_hours,
            "training_validity_days": self.training_validity_days,
        }


def normalise_place(place: str | None) -> str | None:
    p = (place or "").strip().lower() or None
    if p is not None and len(p) > MAX_PLACE:
        raise InvalidInput(f"place is longer than {MAX_PLACE} characters")
    return p


def _tuple(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"expected a list of strings, got {v!r}")
    return tuple(v)


def parse_policy(data: bytes, source: str) -> UsePolicy:
    """Parse and validate a policy file's bytes (ConfigError on any mistake)."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
        cats = {}
        for c in raw.get("categories", []):
            cat = Category(
                id=str(c["id"]),
                label=str(c.get("label", c["id"])),
                requires_case_id=bool(c.get("requires_case_id", False)),
                requires_approval=bool(c.get("requires_approval", False)),
                places=_tuple(c.get("places")),
            )
            cats[cat.id] = cat
        prohibited = tuple(
            Prohibited(
                id=str(p["id"]),
                label=str(p.get("label", p["id"])),
                categories=_tuple(p.get("categories")),
                keywords=_tuple(p.get("keywords")),
            )
            for p in raw.get("prohibited", [])
        )
        no_search = []
        for n in raw.get("no_search", []):
            hours = n.get("hours")
            if hours is not None and (
                len(hours) != 2 or not all(isinstance(h, int) and 0 <= h <= 24 for h in hours)
            ):
                raise ValueError(f"no_search '{n.get('id')}': hours must be [start, end] in 0-24")
            no_search.append(
                NoSearch(
                    id=str(n["id"]),
                    places=_tuple(n.get("places")),
                    hours=(hours[0], hours[1]) if hours else None,
                )
            )
        limits = raw.get("limits", {})
        training = raw.get("training", {})
        default = str(raw.get("default_category", ""))
        if not cats or default not in cats:
            raise ValueError("the policy needs categories and a default_category among them")
        return UsePolicy(
            version=str(raw["version"]),
            title=str(raw.get("title", "")),
            digest=hashlib.sha256(data).hexdigest(),
            source=source,
            default_category=default,
            categories=cats,
            prohibited=prohibited,
            no_search=tuple(no_search),
            searches_per_hour=int(limits.get("searches_per_hour", 0)),
            approval_valid_hours=float(limits.get("approval_valid_hours", 24)),
            training_validity_days=int(training.get("validity_days", 365)),
            training_courses=_tuple(training.get("courses")),
            raw=raw,
        )
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"use policy {source} is invalid: {exc}", source=source) from exc


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> UsePolicy:
    return parse_policy(Path(path).read_bytes(), path)


def load_policy(path: Path | None) -> UsePolicy:
    """The policy at ``path`` (default: the packaged one); re-read when the file changes."""
    p = Path(path) if path else DEFAULT_POLICY
    try:
        st = p.stat()
    except OSError as exc:
        raise ConfigError(f"use policy file {p} cannot be read: {exc}") from exc
    return _load(str(p), st.st_mtime_ns, st.st_size)
