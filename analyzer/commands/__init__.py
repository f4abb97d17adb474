"""The commands of ``dlreport`` (registered on the group in :mod:`analyzer.cli`), one module
per seam; each imports what it needs only when it runs."""
