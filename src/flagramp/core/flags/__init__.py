"""Flags: Flipper-compatible gates and evaluation, plus flagramp's additions."""

from __future__ import annotations

from flagramp.core.flags.bucketing import BUCKETS, bucket, in_percentage
from flagramp.core.flags.evaluation import CompiledFlag, Evaluation, Evaluator
from flagramp.core.flags.flipper_format import (
    export_document,
    flag_from_gates,
    flag_to_gates,
    parse_export,
)
from flagramp.core.flags.flipper_view import FlipperView, RubyDifference, flipper_view
from flagramp.core.flags.model import Actor, Flag
from flagramp.core.flags.percentage import Percentage
from flagramp.core.flags.segments import Condition, Operator, Segment, parse_rule
from flagramp.core.flags.va_features import CatalogueEntry, parse_features_yml

__all__ = [
    "BUCKETS",
    "Actor",
    "CatalogueEntry",
    "CompiledFlag",
    "Condition",
    "Evaluation",
    "Evaluator",
    "Flag",
    "FlipperView",
    "Operator",
    "Percentage",
    "RubyDifference",
    "Segment",
    "bucket",
    "export_document",
    "flag_from_gates",
    "flag_to_gates",
    "flipper_view",
    "in_percentage",
    "parse_export",
    "parse_features_yml",
    "parse_rule",
]
