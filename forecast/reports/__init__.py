"""Report builders (pure) and renderers (charts, HTML, Excel)."""
