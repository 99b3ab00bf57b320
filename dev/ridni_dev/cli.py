"""The development subcommands of ``ridni`` (demo, ui, synth, bench, accuracy, linkage-accuracy): the product's
command adds them when this package is installed."""

from __future__ import annotations


def _demo(args) -> int:
    from ridni_dev.demo import run_demo

    return run_demo(persons=args.persons, nights=args.nights, seed=args.seed)


def _ui(args) -> int:
    from ridni_dev import ui

    return ui.stop() if args.action == "stop" else ui.start(port=args.port)


def add_parsers(sub) -> None:
    from ridni_dev import accuracy, bench, linkage_accuracy
    from ridni_dev.synth import cli as synth_cli

    p = sub.add_parser("demo", help="generate a night of extracts and run the nightly DAGs end to end")
    p.add_argument("--persons", type=int, default=3000)
    p.add_argument("--nights", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_demo)
    p = sub.add_parser("ui", help="start the Airflow UI on the demo's Airflow home (or stop it, and the demo's "
                                  "embedded PostgreSQL)")
    p.add_argument("action", nargs="?", choices=["start", "stop"], default="start")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=_ui)
    synth_cli.add_parser(sub)
    bench.add_parser(sub)
    accuracy.add_parser(sub)
    linkage_accuracy.add_parser(sub)
