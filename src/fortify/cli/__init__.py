"""The ``fortify`` command line."""
