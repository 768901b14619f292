"""Face modality: detection, landmarks, alignment, quality and templates."""
