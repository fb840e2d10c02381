"""recsys-book: a thin, tested PyTorch library behind the course notebooks.

The flow of data (see README):
    files / generators -> Interactions -> a protocol (Split) -> model.fit -> evaluate -> tables
"""

from recsys_book.utils import FAST, get_device, seed_everything

__version__ = "0.1.0"
__all__ = ["FAST", "get_device", "seed_everything", "__version__"]
