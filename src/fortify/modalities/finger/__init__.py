"""Fingerprint modality: contact prints (500 ppi), ISO/IEC 19794-2 minutiae, WSQ."""
