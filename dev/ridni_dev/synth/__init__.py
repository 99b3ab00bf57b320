"""Synthetic nightly extracts with ground truth: the stand-in for the real (secret) source data.

``generate(out_dir, seed=1, persons=3000, nights=1, start_date=2026-11-01, faults=())``
simulates a population and what each of the eight sources sees of it, night after
night, and writes:

- the landing zone ``out_dir/landing/<source_id>/<YYYY-MM-DD>/``: the source's files and,
  last, ``manifest.json`` (``source``, ``extract_date``, ``files`` with ``sha256`` and data
  ``rows``; ``seq`` for the register), in each source's format as its contract gives it
  (``include/ridni/contracts/``, documented in ``docs/sources.md``). A night without an exchange
  has no ``exchange_returns`` folder;
- the ground truth ``out_dir/truth/<YYYY-MM-DD>/`` (records.csv, persons.csv, counts.json,
  faults.json; see :mod:`ridni_dev.synth.truth`).

Deterministic: the same arguments give byte-identical files (XLSX included: fixed
document dates and zip timestamps). Incremental: ``nights=N+1`` writes the same first N
nights as ``nights=N`` (every draw is keyed by seed, purpose and person/record/day, see
:mod:`ridni_dev.synth.rng`). The register's first delta (seq 1, the first night) carries its
whole history since 2022 (every I/U/D row); later deltas carry one day's changes. Exchange
files before the first night are not in the landing zone (they were delivered before);
the eve of the first night is always an exchange day, so the first night carries an exchange
file whenever anyone came home in it (about 20 persons at the default 3,000).

Record keys (what ingestion takes as ``record_key``), per source:

| source | record_key | form |
|---|---|---|
| npu_appeals | ``номер_звернення`` | ``YYYY`` + 7 digits (year of registration, order in the year) |
| mvs_register | ``register_no`` | 8 digits |
| coordhq_cases | ``case_id`` | ``KSH-YYYY-NNNNNN`` |
| sbu_jc | ``Номер справи`` | 17 digits (``22`` + year + order), a text cell |
| ombudsman | ``case_no`` | ``OMB-YYYY-NNNNN`` |
| icrc_confirmations | ``icrc_ref`` | ``ICRC-UA-NNNNNNN`` |
| exchange_returns | ``<exchange_id>/<line>`` | ``EX-YYYYMMDD/<line number in the file>``, line 2 = first data row |
| children_deported | ``child_id`` | ``NIB-NNNNNNN`` |

Noise, per source: typos (keyboard neighbours, sound-alike letters, dropped, doubled and
swapped letters), the three apostrophes U+0027/U+2019/U+02BC (the Windows-1251 register
only the first two), Latin look-alike letters inside Cyrillic names (a fifth of the
Ombudsman's records), first name and patronymic swapped, day and month of birth swapped
(rarely against the record's own RNOKPP), mistyped birth dates, mistyped or cut-short
RNOKPPs, the wrong sex ticked, missing fields, given-name spelling
variants, SBU's one-field ``SURNAME First Patronymic``, ICRC's Latin names by the national
standard or Russian-style (``Oleksandr``/``Aleksandr``) with partial birth dates, regions as
codes, Ukrainian, English, ``<English> oblast`` or Russian-style names, several police
appeals per person from different relatives, records withdrawn from later snapshots
(duplicate appeals, closed cases, SBU records of those returned), confirmations withdrawn
(``not_confirmed``, SBU records removed), the register's I/U/D deltas citing police appeal
numbers, exchange lists that arrive late. Each record's typos are in the truth (``noise``).
Situations, with the persons they concern in the truth (``patterns``,
:func:`ridni_dev.synth.sources.planted_patterns`): joint confirmations (generic and specific
evidence of one held episode on one date), generic re-confirmations, kinds that change inside
an episode, deported children with only generic evidence, planted conflicts of equal weight,
re-detention after a return. Clean files keep the contracts' row rules but for the typos a
flag catches (``ridni.ingest.validate.FLAGS``): birth <= disappearance <= registration <=
extract date, plausible ages, allowed values and patterns.

Faults: :data:`ridni_dev.synth.faults.FAULTS` (name -> function), documented in that module.
"""

from ridni_dev.synth.faults import FAULTS
from ridni_dev.synth.generate import DEFAULT_START, DropInfo, SynthResult, generate, records_to_persons
from ridni_dev.synth.sources import SOURCE_IDS

__all__ = ["DEFAULT_START", "FAULTS", "SOURCE_IDS", "DropInfo", "SynthResult", "generate", "records_to_persons"]
