"""Command line: ``python -m recsys_book data fetch ml-100k`` | ``data info NAME`` |
``reproduce NAME`` (NAME = a module in recsys_book/experiments: an ``EXPERIMENT``, or a ``main(args)``)."""

from __future__ import annotations

import argparse
import pkgutil
import sys


def _experiments() -> list[str]:
    import recsys_book.experiments as ex

    return sorted(m.name for m in pkgutil.iter_modules(ex.__path__) if not m.name.startswith("_"))


def main(argv=None) -> int:
    from recsys_book.data.interactions import DataError

    parser = argparse.ArgumentParser(prog="python -m recsys_book", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    data = sub.add_parser("data", help="fetch or describe datasets")
    dsub = data.add_subparsers(dest="action", required=True)
    f = dsub.add_parser("fetch", help="download and verify a dataset into data/")
    f.add_argument("name", choices=["ml-100k"])
    f.add_argument(
        "--source", help="a file you already have (recbole wheel, ml-100k.zip, folder with u.data)"
    )
    f.add_argument("--force", action="store_true", help="fetch again even if cached")
    i = dsub.add_parser(
        "info",
        help="counts, density, date range and which columns were used",
        description="Counts, density, date range, and which columns were used for what "
        "(and which were ignored). A CSV's columns with conventional names (user/user_id, "
        "item/item_id, rating, timestamp/time, session/basket_id ...) are used by default.",
    )
    i.add_argument("name", help="ml-100k, or a path to a .inter / .csv / ratings.dat file")
    for role in ("user", "item", "rating", "timestamp", "session"):
        i.add_argument(
            f"--{role}",
            metavar="COLUMN",
            help=f"(.csv) the {role} column, or 'none' to leave it out (default: by its name)",
        )
    i.add_argument("--sep", help="(.csv) field separator (default ',')")
    rep = sub.add_parser("reproduce", help="re-run a paper's table; writes results/")
    rep.add_argument("name", help=f"one of: {', '.join(_experiments()) or '(none yet)'}")
    rep.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        help="options passed to the experiment (--help for its own)",
    )
    args = parser.parse_args(argv)
    try:
        if args.cmd == "data" and args.action == "fetch":
            from recsys_book.data.datasets import fetch_ml100k

            path = fetch_ml100k(source=args.source, force=args.force)
            print(f"ml-100k ready in {path} (SHA-256 verified)")
        elif args.cmd == "data" and args.action == "info":
            import warnings

            from recsys_book.data.datasets import load

            roles = ("user", "item", "rating", "timestamp", "session", "sep")
            kwargs = {r: getattr(args, r) for r in roles if getattr(args, r) is not None}
            kwargs = {
                r: None if v.lower() == "none" and r != "sep" else v for r, v in kwargs.items()
            }
            if kwargs and (args.name.endswith("ratings.csv") or not args.name.endswith(".csv")):
                parser.error(
                    f"--{next(iter(kwargs))} applies to a .csv file (not MovieLens ratings.csv)"
                )
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                inter = load(args.name, **kwargs)
            for w in caught:  # e.g. a file cut mid-line: shown, not swallowed
                print(f"warning: {w.message}", file=sys.stderr)
            for k, v in inter.info().items():
                print(f"{k:>13}: {v:,}" if isinstance(v, int) else f"{k:>13}: {v}")
        elif args.cmd == "reproduce":
            if args.name not in _experiments():
                parser.error(f"unknown experiment {args.name!r}; choose from {_experiments()}")
            from recsys_book.experiments._runner import reproduce

            return reproduce(args.name, args.rest)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
