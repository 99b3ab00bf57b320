"""``ridni review list / show / decide``: the review page's work from a terminal, for scripts and tests.

The same functions as the page underneath, and the same door: a decision goes through
``core.record_review_decision`` with the version of the pair (or of the person's evidence, ``--conflict``)
that was shown (``show`` prints it; without ``--version`` the decision is taken on what is there now). The login is ``RIDNI_REVIEW_URL`` (a role
in ``case_officer_reviewer``), else the warehouse's.
"""

from __future__ import annotations

import os

from ridni import db
from ridni.review import decisions, queue


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("review", help="the review queue: list pairs, show one, record a decision")
    sub = p.add_subparsers(dest="review_action", required=True)
    ls = sub.add_parser("list", help="the queue, most urgent first")
    ls.add_argument("--kind", choices=queue.KINDS, help="record pairs or category conflicts (default: both)")
    ls.add_argument("--source")
    ls.add_argument("--region", help="ISO 3166-2:UA code, e.g. UA-14")
    ls.add_argument("--min-nights", type=int, help="in the queue at least this many nights")
    ls.add_argument("--page", type=int, default=1)
    ls.add_argument("--per-page", type=int, default=queue.PER_PAGE)
    show = sub.add_parser("show", help="one pair side by side (or a person's category conflict), what a decision "
                                       "would change, its version")
    show.add_argument("pair_id", type=int, help="the pair (with --conflict: the person)")
    show.add_argument("--conflict", action="store_true", help="the id is a person with conflicting evidence")
    show.add_argument("--lang", choices=["en", "uk"], default="en")
    decide = sub.add_parser("decide", help="record a decision on a pair or a category conflict")
    decide.add_argument("pair_id", type=int, help="the pair (with --conflict: the person)")
    decide.add_argument("decision", choices=sorted({d for ds in decisions.DECISIONS.values() for d in ds}),
                        help="a pair: same, different, not_sure; a conflict: stands (with --record), all_wrong, "
                             "not_sure")
    decide.add_argument("--conflict", action="store_true", help="the id is a person with conflicting evidence")
    decide.add_argument("--record", help="with stands: the record that stands, SOURCE/KEY as `show` lists it")
    decide.add_argument("--by", required=True, help="who decides (the officer's user name)")
    decide.add_argument("--note")
    decide.add_argument("--version", help="the version `show` printed (refused if the pair changed since)")
    p.set_defaults(func=run)


def _engine():
    url = os.environ.get("RIDNI_REVIEW_URL") or db.resolve_url()[0]
    return db.make_engine(url)


def run(args) -> int:
    engine = _engine()
    try:
        return {"list": _list, "show": _show, "decide": _decide}[args.review_action](engine, args)
    finally:
        engine.dispose()


def _list(engine, args) -> int:
    flt = queue.QueueFilter(source=args.source, region=args.region, kind=args.kind, min_nights=args.min_nights)
    with engine.connect() as conn:
        page = queue.queue_page(conn, flt, args.page, args.per_page)
        sizes = queue.sizes(conn)
    print(f"waiting: {sizes['pair']} pairs, {sizes['conflict']} persons with conflicting evidence; "
          f"{page.total} under this filter (page {page.page} of {page.pages})")
    for r in page.rows.itertuples(index=False):
        if r.kind == "conflict":
            print(f"{r.person_id:>8}  {queue.IMPACTS[int(r.impact)]:<14}  conflict  person {r.person_id} "
                  f"({r.category}, its {r.review}): {r.left_source_id}/{r.left_record_key} ({r.left_category})  vs  "
                  f"{r.right_source_id}/{r.right_record_key} ({r.right_category})"
                  + ("  [skipped]" if r.skipped_at is not None and str(r.skipped_at) != "NaT" else ""))
            continue
        persons = (f"{r.left_category} <-> {r.right_category}" if r.left_person != r.right_person
                   else f"one person: {r.left_category}")
        print(f"{r.pair_id:>8}  {queue.IMPACTS[int(r.impact)]:<14}  p={r.match_probability:.3f}  "
              f"{r.left_source_id}/{r.left_record_key}  ~  {r.right_source_id}/{r.right_record_key}  ({persons})"
              + ("  [skipped]" if r.skipped_at is not None and str(r.skipped_at) != "NaT" else ""))
    return 0


def _show(engine, args) -> int:
    if args.conflict:
        return _show_conflict(engine, args)
    from ridni.review.pair import load_pair
    from ridni.web.i18n import language
    from ridni.web.review_page import category_label, effect_texts, level_label

    lang = language(args.lang)
    with engine.connect() as conn:
        view = load_pair(conn, args.pair_id)
    if view is None:
        print(f"no pair {args.pair_id}")
        return 1
    print(f"pair {view.pair_id}: match probability {view.match_probability:.3f}, match weight "
          f"{view.match_weight if view.match_weight is None else round(view.match_weight, 2)}, "
          f"queued {view.first_queued_on}, decision {view.decision or 'none'}")
    print(f"version {view.version}")
    fields = ["source_id", "record_key", "surname", "first_name", "patronymic", "full_name", "surname_key",
              "first_key", "first_lat", "patronymic_lat", "birth_date", "birth_parsed", "sex", "region", "rnokpp",
              "service_no", "person_type", "status", "status_date", "person_id", "link_rule"]
    for f in fields:
        left, right = view.left.get(f), view.right.get(f)
        if left is None and right is None:
            continue
        print(f"  {f:<15} {str(left if left is not None else '-'):<40} {right if right is not None else '-'}")
    print(f"  {'category':<15} {category_label(view.left.get('category'), lang):<40} "
          f"{category_label(view.right.get('category'), lang)}")
    for lv in view.levels:
        weight = "-" if lv.weight is None else f"{lv.weight:+.2f}"
        print(f"  level {lv.field:<12} {level_label(lv.label, lang):<45} {weight}")
    same, different = effect_texts(view.effect, lang)
    print(f"same: {same}\ndifferent: {different}")
    for r in view.history.itertuples(index=False):
        print(f"  decision #{r.decision_id} {r.decision} by {r.decided_by} at {r.decided_at:%Y-%m-%d %H:%M}")
    return 0


def _show_conflict(engine, args) -> int:
    from ridni.review.conflict import load_conflict
    from ridni.web.i18n import language
    from ridni.web.review_page import category_label, choice_effect

    lang = language(args.lang)
    with engine.connect() as conn:
        view = load_conflict(conn, args.pair_id)
    if view is None:
        print(f"no person {args.pair_id} with evidence")
        return 1
    print(f"person {view.person_id}: {view.category} (rule {view.rule} / {view.kind_rule}), "
          f"conflict: {view.conflict or 'none'} (rule {view.conflict_rule}), "
          f"settled by decision {view.settled_by if view.settled_by is not None else 'none'}")
    print(f"version {view.version}")
    for c in view.choices:
        print(f"  stands {c.ref:<40} {c.status or '-':<22} {category_label(c.category, lang):<30} "
              f"{c.effective_date}  -> {choice_effect(view.category, c.result, c.moves_group, lang)}")
    if view.conflict:
        print(f"  all_wrong -> {choice_effect(view.category, view.all_wrong_result, view.all_wrong_moves_group, lang)}")
    print("evidence:")
    for r in view.evidence.itertuples(index=False):
        print(f"  {r.source_id}/{r.record_key:<30} {r.status or '-':<22} {r.category:<24} {r.effective_date} "
              f"rank {r.authority}")
    for r in view.history.itertuples(index=False):
        print(f"  decision #{r.decision_id} {r.decision} by {r.decided_by} at {r.decided_at:%Y-%m-%d %H:%M}")
    return 0


def _decide_conflict(engine, args) -> int:
    from ridni.review.conflict import evidence_version, load_conflict

    if args.decision not in decisions.DECISIONS["evidence"] or bool(args.record) != (args.decision == "stands"):
        print("not recorded: a conflict's decision is stands --record SOURCE/KEY, all_wrong or not_sure")
        return 2
    try:
        with engine.begin() as conn:
            version = args.version or evidence_version(conn, args.pair_id)
            view = load_conflict(conn, args.pair_id)
            if view is None or view.conflict is None:
                raise decisions.NoSuchSubject(f"no conflict of person {args.pair_id}")
            chosen = view.choice(args.record) if args.record else None
            if args.record and chosen is None:
                print(f"not recorded: {args.record} is not one of the conflict's records")
                return 1
            recorded = decisions.record(
                conn, kind="evidence", subject=args.pair_id, decision=args.decision, version=version, by=args.by,
                note=args.note, shown={**view.shown(), "version": version, "via": "ridni review decide"},
                evidence=(chosen.source_id, chosen.record_key) if chosen else None)
    except (decisions.StaleView, decisions.NoSuchSubject) as exc:
        print(f"not recorded: {exc}")
        return 1
    print(f"recorded decision {recorded}: person {args.pair_id} {args.decision} {args.record or ''}".rstrip())
    return 0


def _decide(engine, args) -> int:
    if args.conflict:
        return _decide_conflict(engine, args)
    if args.decision not in decisions.DECISIONS["pair"]:
        print("not recorded: a pair's decision is same, different or not_sure")
        return 2
    try:
        with engine.begin() as conn:
            version = args.version or decisions.pair_version(conn, args.pair_id)
            if version is None:
                raise decisions.NoSuchSubject(f"no pair {args.pair_id}")
            recorded = decisions.record(conn, kind="pair", subject=args.pair_id, decision=args.decision,
                                        version=version, by=args.by, note=args.note,
                                        shown={"version": version, "via": "ridni review decide"})
    except (decisions.StaleView, decisions.NoSuchSubject) as exc:
        print(f"not recorded: {exc}")
        return 1
    print(f"recorded decision {recorded}: pair {args.pair_id} {args.decision}")
    return 0
