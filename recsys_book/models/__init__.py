"""Models: one file per family, each reading like its paper section."""

from recsys_book.models.base import Popularity, RandomModel, Recommender

__all__ = ["Popularity", "RandomModel", "Recommender"]
