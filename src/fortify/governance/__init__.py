"""Governance: approvals, separation of duties, rapid deletion, subject access and redress,
the public transparency report. The search-time checks live in
:mod:`fortify.accountability.authorize` (the one door) and its policy/training modules."""
