"""Segments: saved filters over contacts, compiled to one parameterised query."""

from logsteer_tui.services.segments.definition import (
    Condition,
    Group,
    parse_condition,
    parse_definition,
    parse_definition_text,
)
from logsteer_tui.services.segments.describe import (
    describe_condition,
    describe_group,
)
from logsteer_tui.services.segments.fields import FIELDS, FieldKind, FieldSpec
from logsteer_tui.services.segments.operators import (
    OPERATOR_INFO,
    Operator,
    SegmentDefinitionError,
    ValueShape,
    ValueType,
    operator_label,
    value_from_text,
    value_to_text,
)
from logsteer_tui.services.segments.service import (
    SavedSegment,
    SegmentExistsError,
    SegmentInUseError,
    SegmentRow,
    SegmentService,
    SegmentSort,
    SegmentSummary,
    find_segment,
    segment_hint,
)

__all__ = [
    "FIELDS",
    "OPERATOR_INFO",
    "Condition",
    "FieldKind",
    "FieldSpec",
    "Group",
    "Operator",
    "SavedSegment",
    "SegmentDefinitionError",
    "SegmentExistsError",
    "SegmentInUseError",
    "SegmentRow",
    "SegmentService",
    "SegmentSort",
    "SegmentSummary",
    "ValueShape",
    "ValueType",
    "describe_condition",
    "describe_group",
    "find_segment",
    "operator_label",
    "parse_condition",
    "parse_definition",
    "parse_definition_text",
    "segment_hint",
    "value_from_text",
    "value_to_text",
]
