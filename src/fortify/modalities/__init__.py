"""Biometric modalities (face now; fingerprint and documents later)."""
