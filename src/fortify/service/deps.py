"""Annotated dependencies: the gallery, settings and the authenticated operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fortify.accountability.operators import Operator, authenticate
from fortify.config import Settings
from fortify.gallery import Gallery
from fortify.imaging import LargeImageGate

_bearer = HTTPBearer(auto_error=False, description="Operator API token")


def get_gallery(request: Request) -> Gallery:
    gallery: Gallery = request.app.state.gallery
    return gallery


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


GalleryDep = Annotated[Gallery, Depends(get_gallery)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_operator(
    request: Request,
    gallery: GalleryDep,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Operator:
    checked = getattr(request.state, "operator", None)  # the guard authenticated already
    if isinstance(checked, Operator):
        return checked
    with gallery.db.session() as s:
        return authenticate(s, creds.credentials if creds else None, settings.token_ttl_days)


OperatorDep = Annotated[Operator, Depends(get_operator)]


def get_image_gate(request: Request) -> LargeImageGate:
    gate: LargeImageGate = request.app.state.image_gate
    return gate


ImageGateDep = Annotated[LargeImageGate, Depends(get_image_gate)]
