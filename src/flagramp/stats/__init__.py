"""flagramp.stats: always-valid decisions from aggregated metrics.

Pure functions and frozen values: no I/O, no clock, no randomness. See
docs/statistics.md for the method and its tuning.
"""

from flagramp.stats.alpha import split_alpha
from flagramp.stats.buckets import DEFAULT_BUCKETS, BucketSums, bucket_of
from flagramp.stats.counts import CountLimit, evaluate_count_limit
from flagramp.stats.decision import (
    DecisionRecord,
    Evidence,
    GuardDecision,
    GuardOutcome,
)
from flagramp.stats.detectability import (
    StageTraffic,
    detectable_effect,
    detection_probability,
    expected_detection_minutes,
)
from flagramp.stats.estimates import (
    ArmEstimate,
    arm_from_buckets,
    arm_from_totals,
    baseline,
)
from flagramp.stats.guards import (
    RatioGuard,
    RatioLook,
    evaluate_ratio_guard,
    ratio_look,
)
from flagramp.stats.moments import (
    ArmMoments,
    bucket_moments,
    design_effect,
    ratio_moments,
)
from flagramp.stats.novelty import (
    FingerprintTally,
    NoveltyBudget,
    evaluate_novelty,
    unseen_fingerprints,
    users_needed,
)
from flagramp.stats.one_sided import (
    Comparison,
    Direction,
    Side,
    excess_and_variance,
    side_log_ratio,
)
from flagramp.stats.sequential import (
    crosses,
    log_mixture_ratio,
    mixing_variance,
    mixture_radius,
    two_sided_radius,
    wald_sample_size,
)
from flagramp.stats.srm import SRM_THRESHOLD, check_sample_ratio, srm_statistic

__all__ = [
    "DEFAULT_BUCKETS",
    "SRM_THRESHOLD",
    "ArmEstimate",
    "ArmMoments",
    "BucketSums",
    "Comparison",
    "CountLimit",
    "DecisionRecord",
    "Direction",
    "Evidence",
    "FingerprintTally",
    "GuardDecision",
    "GuardOutcome",
    "NoveltyBudget",
    "RatioGuard",
    "RatioLook",
    "Side",
    "StageTraffic",
    "arm_from_buckets",
    "arm_from_totals",
    "baseline",
    "bucket_moments",
    "bucket_of",
    "check_sample_ratio",
    "crosses",
    "design_effect",
    "detectable_effect",
    "detection_probability",
    "evaluate_count_limit",
    "evaluate_novelty",
    "evaluate_ratio_guard",
    "excess_and_variance",
    "expected_detection_minutes",
    "log_mixture_ratio",
    "mixing_variance",
    "mixture_radius",
    "ratio_look",
    "ratio_moments",
    "side_log_ratio",
    "split_alpha",
    "srm_statistic",
    "two_sided_radius",
    "unseen_fingerprints",
    "users_needed",
    "wald_sample_size",
]
