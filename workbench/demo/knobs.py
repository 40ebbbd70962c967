"""Knobs of the demo region's generative model (and nothing else: no analysis parameter lives here).

The model, in one paragraph: each school has a latent social context ``ses`` (z-scale, higher = better
off) and a school effect ``u`` (value added, in pupil-ability SD units). A pupil's ability in a year is
``SES_SLOPE * ses + u + cohort + year noise + pupil noise``; a subject adds its own pupil deviation.
A task of level Б/П/В is solved point by point with probability ``logistic(a * (theta - b - step))``
(an IRT-like graded model); the primary score is the sum of task scores and the mark follows the mark
scale. The journal mark is the pupil's subject ability plus teacher noise plus a journal bias, cut at the
ability values where the expected ВПР score crosses the scale's boundaries. Planted effects (persistently
low schools, resilient schools, grade inflation, inflated ВПР, a support programme, missing data,
polarised intake, deprived context) shift these quantities and are written to ``truth/``.

All numbers below are properties of the synthetic world, documented so a reader of ``truth/`` can tell
what to expect; they were tuned by simulation (see tests/test_demo.py for the checks).
"""
from __future__ import annotations

# ---------------------------------------------------------------- region and schools
SES_SCHOOL_SD = 0.55          # spread of school context around the municipality mean
SES_RURAL_SHIFT = -0.30       # rural schools are less advantaged
SES_SELECTIVE_SHIFT = 0.55    # гимназия / лицей / СОШ с УИОП recruit better-off families
SES_SMALL_SHIFT = -0.25       # small-class rural schools
SCHOOL_EFFECT_SD = 0.22       # value added of an ordinary school (pupil-SD units)
SELECTIVE_EFFECT = 0.30       # extra value added (and selection) of гимназия / лицей / УИОП
SES_SLOPE = 0.40              # pupil ability per unit of school context
YEAR_NOISE_SD = 0.06          # school-by-year wobble
COHORT_SD = 0.10              # a cohort (school, entry year) keeps its deviation through the grades
PUPIL_SD = 0.80               # within-school spread of general ability
SUBJECT_SD = 0.45             # pupil's subject-specific deviation from general ability
REGION_TREND = 0.02           # region-wide drift of ability per year

CLASS_CAP_URBAN = 26          # class size cap (pupils) in a town school
CLASS_CAP_RURAL = 20
SMALL_CLASS_RANGE = (3, 10)   # pupils per grade in a small-class (малокомплектная) school
SENIOR_GRADE_FACTOR = 0.55    # grades 10–11 are smaller than 1–9 (pupils leave after grade 9)

# ---------------------------------------------------------------- planted effects (rates for unlisted schools)
RATE_PERSISTENTLY_LOW = 0.06  # share of schools with a persistently low school effect
RATE_RESILIENT = 0.04         # low context, high value added
RATE_GRADE_INFLATION = 0.05   # journal far above ВПР
RATE_INFLATED_VPR = 0.035     # ВПР results inflated (heaping, lenient checking of hard tasks)
RATE_MISSING = 0.04           # schools with gaps in their data
RATE_DEPRIVED = 0.05          # context pushed far down (ШНСУ candidates)
RATE_POLARISED = 0.01         # polarised intake (many weak and many strong pupils)
RATE_SELECTIVE_ABSENCE = 0.03  # weak pupils kept away from the ВПР (selective participation)
SUPPORTED_SHARE = 0.5         # share of persistently low schools enrolled in the support programme

LOW_EFFECT = -0.65            # school effect of a persistently low school
RESILIENT_SES = -1.1          # context of a resilient school (relative to the municipality mean)
RESILIENT_EFFECT = 0.60       # its value added
DEPRIVED_SES = -1.3           # context shift of a deprived school
POLARISED_SPLIT = (0.35, -1.05, 0.25, 0.95)  # share low, shift low, share high, shift high (pupil ability)

SUPPORT_START = 2024          # the support programme's first cohort reaches the ВПР of this spring ...
SUPPORT_LATE_SHARE = 0.4      # ... and this share of the supported schools joins a year later (staggered adoption)
SUPPORT_EFFECT = {0: 0.12, 1: 0.28, 2: 0.38}  # added to the school mean ability, by years since the school's start

# ---------------------------------------------------------------- tasks (IRT-like model)
LEVEL_DIFFICULTY = {"Б": -0.70, "П": 0.70, "В": 1.60}  # mean difficulty b of a task by level
TASK_DIFFICULTY_SD = 0.35
DISCRIMINATION = (0.9, 1.6)   # uniform range of a
STEP_SPREAD = 0.8             # points of a multi-point task spread their difficulty over this width
VARIANT_SHIFT_SD = 0.06       # variants differ slightly in difficulty
NOT_DONE_IF_ZERO = {"Б": 0.25, "П": 0.45, "В": 0.6}  # P(task marked «X») given a zero score
ABSENT_RATE = (0.03, 0.09)    # absence rate ranges from best-off to worst-off schools
SELECTIVE_ABSENCE = (-0.3, 0.5)  # with selective participation: pupils below this ability are absent
                                # with this much higher probability (≈ +20 p.p. of the listed pupils)

# ---------------------------------------------------------------- journal marks
# Calibrated so that over the region ВПР lowers ≈ 34 %, raises ≈ 6.5 %, confirms ≈ 59 % of journal marks
# (seed 003: «понизили 34,21 %, повысили 6,5 %, подтвердили 59,22 %»).
JOURNAL_BIAS = 0.280          # region-wide leniency of journal marks (ability units)
JOURNAL_NOISE_SD = 0.32       # teacher's judgement noise
JOURNAL_SCHOOL_SD = 0.12      # school-to-school differences in leniency
GRADE_INFLATION_BIAS = 1.0    # extra leniency in a grade-inflation school
JOURNAL_MISSING_RATE = 0.01   # pupils without a journal mark in the file
JOURNAL_TWO_KEEP = 0.3        # teachers rarely give «2» for a term: only this share of would-be «2» stay «2»

# ---------------------------------------------------------------- inflated ВПР
INFLATED_TRUE_EFFECT = -0.30  # true school effect of an inflated-ВПР school (ordinary to weak: exams do not confirm)
INFLATED_SES_SD = 0.2         # its context stays near the municipality mean (results look good, not explained by intake)
INFLATED_JOURNAL_BIAS = 0.60  # teachers who inflate ВПР also mark leniently, so journal and ВПР agree
INFLATED_HARD_BOOST = 1.8     # lenient checking of П/В tasks (ability units added for those tasks)
INFLATED_HEAP_WINDOW = 3      # scores this many points below a boundary are pulled up to it ...
INFLATED_HEAP_PROB = 0.80     # ... with this probability

# ---------------------------------------------------------------- exams (ОГЭ grade 9, ЕГЭ grade 11)
OGE_MAX = {"rus": 33, "math": 31}
OGE_MIN = {"rus": (15, 26, 31), "math": (8, 15, 22)}   # primary score for 3 / 4 / 5
EGE_MIN = {"rus": 24, "math": 27}
EGE_GOOD, EGE_HIGH = 70.0, 80.0
EGE_MEAN = {"rus": 68.0, "math": 55.0}
EGE_SD = {"rus": 14.0, "math": 17.0}
# Pupil-level protocols (workbench.demo.protocols): task maxima of the short-answer and long-answer parts
# (synthetic structures whose sums are the maximum primary score), the ЕГЭ maximum primary score (the test
# score is converted back linearly, a simplification of the real non-linear scale) and the exam calendar.
EXAM_TASKS = {("ОГЭ", "math"): ((1,) * 19, (2,) * 6),                                   # 31 = OGE_MAX
              ("ОГЭ", "rus"): ((1,) * 7, (2, 3, 2, 1, 3, 1, 2, 3, 3, 3, 3)),            # 33
              ("ЕГЭ", "math"): ((1,) * 12, (2, 3, 2, 2, 3, 4, 4)),                      # 32
              ("ЕГЭ", "rus"): ((1,) * 24 + (2, 2), (1, 3, 2, 1, 3, 3, 3, 2, 2, 2))}     # 50
LONG_TASK_WEIGHT = 0.55       # a point of a long-answer task is this much less likely than a short-answer point
EXAM_DATES = {("ОГЭ", "math"): (5, 23), ("ОГЭ", "rus"): (5, 26), ("ЕГЭ", "rus"): (6, 4), ("ЕГЭ", "math"): (6, 8)}

# ---------------------------------------------------------------- test-sized regions (scale < 1)
SCALE_SMALL_PUPILS = 2.0      # scale < 1: pupils of big schools are multiplied by min(1, this * scale)
SMALL_SCHOOL_KEEP = 60        # ... but a school never drops below this many pupils (or its own size)
