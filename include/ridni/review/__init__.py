"""Case officers' review: the queue of uncertain record pairs, a pair side by side, and the decisions.

``queue`` orders and filters what waits for a reviewer, ``pair`` reads one pair with everything a
reviewer weighs (both records, Splink's comparison, both persons' other records, what a decision would
change), ``decisions`` records a decision through the warehouse's one door
(``core.record_review_decision``, migration 0014) and reads them back. The review page
(``ridni.web.review``) and the ``ridni review`` command both call these. See docs/review.md.
"""
