"""Federation: connectors to external record systems and the concurrent fan-out (Super Query)."""
