"""Add templates, schedules, their runs and deliveries, and scheduler workers

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 15:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import logsteer_tui.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(
        name, logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=nullable
    )


def _enum(name: str, kind: str, values: list[str], length: int = 20) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.Enum(*values, name=kind, native_enum=False, length=length),
        nullable=False,
    )


CHANNELS = ["sms", "email"]
MESSAGE_TYPES = ["promotional", "sales", "transactional"]
SCHEDULE_STATUSES = ["active", "paused", "cancelled", "finished", "missed"]
RUN_STATUSES = ["running", "paused", "finished", "missed", "cancelled", "failed"]
DELIVERY_STATUSES = [
    "pending",
    "sending",
    "sent",
    "skipped",
    "failed",
    "interrupted",
]


def upgrade() -> None:
    op.create_table(
        "template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        _enum("channel", "channel", CHANNELS),
        sa.Column("body", sa.Text(), nullable=False),
        _utc("created_at"),
        _utc("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _enum("channel", "channel", CHANNELS),
        _enum("message_type", "messagetype", MESSAGE_TYPES),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("segment_name", sa.String(length=100), nullable=False),
        sa.Column("contact_ids", sa.JSON(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("transliterate", sa.Boolean(), nullable=True),
        _utc("starts_at"),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        _enum("status", "schedulestatus", SCHEDULE_STATUSES),
        _utc("next_run_at", nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["template_id"], ["template.id"], ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_schedule_status_next_run", "schedule", ["status", "next_run_at"]
    )
    op.create_table(
        "schedule_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        _utc("planned_at"),
        _enum("status", "schedulerunstatus", RUN_STATUSES),
        sa.Column("populated", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        _utc("started_at", nullable=True),
        _utc("finished_at", nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedule.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "schedule_id", "planned_at", name="uq_schedule_run_planned"
        ),
    )
    op.create_index(
        "ix_schedule_run_schedule", "schedule_run", ["schedule_id", "planned_at"]
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        _enum("status", "deliverystatus", DELIVERY_STATUSES),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(length=40), nullable=True),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["schedule_run.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "contact_id", name="uq_delivery_run_contact"),
    )
    op.create_index(
        "ix_delivery_run_status", "delivery", ["run_id", "status", "id"]
    )
    op.create_table(
        "scheduler_worker",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        _utc("started_at"),
        _utc("heartbeat_at"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("scheduler_worker")
    op.drop_index("ix_delivery_run_status", table_name="delivery")
    op.drop_table("delivery")
    op.drop_index("ix_schedule_run_schedule", table_name="schedule_run")
    op.drop_table("schedule_run")
    op.drop_index("ix_schedule_status_next_run", table_name="schedule")
    op.drop_table("schedule")
    op.drop_table("template")
