"""Checkers for the chapters' exercises, one module per chapter (``ch07`` = chapter 07).

A checker takes the learner's function, runs it beside the library's implementation on
random and edge-case inputs, and raises ``AssertionError`` naming the case that failed with
the expected and the obtained value; it returns a short "correct" message otherwise.
Solutions live in ``notebooks/solutions/``."""
