"""Versioned binary template codec."""

from fortify.templates.codec import decode, encode

__all__ = ["decode", "encode"]
