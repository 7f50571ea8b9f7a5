"""Storage: the contract the ledger needs (``contract``) and its SQLAlchemy implementation
(``sql``), the engine and tables, migrations (Alembic), backup and restore."""
