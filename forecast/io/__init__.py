"""Everything that touches files and the warehouse: readers, validation, ingest, writers."""
