"""Health, the caller's identity and the loaded model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from fortify.accountability.operators import PERMISSIONS
from fortify.index.factory import partition_caveat
from fortify.service.deps import GalleryDep, OperatorDep
from fortify.service.routes.common import ERRORS
from fortify.service.schemas import HealthPublic, OperatorPublic

router = APIRouter(tags=["system"], responses=ERRORS)


@router.get("/health", response_model=HealthPublic, operation_id="system-health")
def health(gallery: GalleryDep) -> HealthPublic:
    report = gallery.open_index()
    return HealthPublic(
        status="ok",
        templates=gallery.index.ntotal,
        index=report.to_dict(),
        model=gallery.index.model_id,
    )


@router.get("/me", response_model=OperatorPublic, operation_id="system-me")
def me(operator: OperatorDep) -> OperatorPublic:
    return OperatorPublic(
        name=operator.name,
        role=operator.role,
        permissions=sorted(PERMISSIONS.get(operator.role, frozenset())),
    )


@router.get("/models", operation_id="system-models")
def models(gallery: GalleryDep, operator: OperatorDep) -> dict[str, Any]:
    ex = gallery.engine.extractor
    configured = gallery.settings.face_model
    return {
        "face": {
            "model_id": ex.model_id,
            "model_version": ex.model_version,
            "model_digest": ex.model_digest,
            "dim": ex.dim,
            "threshold": gallery.settings.match_threshold,
            "index_factory": gallery.settings.index_factory,
            # a gallery searches with its stored templates' model until re-templated
            "configured_model": configured,
            "retemplate_pending": configured not in ("onnx", ex.model_id),
            "index_caveat": partition_caveat(gallery.settings.index_factory, ex.dim),
        }
    }
