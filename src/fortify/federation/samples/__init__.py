"""Sample record services with SYNTHETIC records, for the demo, the tests and the bench.

Each is a separate process (``python -m fortify.federation.samples.<name>``) with
switches to answer slowly, fail, never answer, or return malformed, oversized or
hostile data. None of their records is about a real person.
"""
