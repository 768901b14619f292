"""The gallery service: enrolment, search, records, retention, all audited.

CLI and HTTP API both go through :class:`Gallery`, so the accountability
rules (operator, purpose, audit entry) hold on every path.
"""

from fortify.gallery.core import Gallery

__all__ = ["Gallery"]
