"""Paper tables and figures as code: ``python -m recsys_book reproduce NAME``.

Each module here has ``main(argv) -> int`` and writes its tables (CSV and markdown,
atomically) under ``results/``."""
