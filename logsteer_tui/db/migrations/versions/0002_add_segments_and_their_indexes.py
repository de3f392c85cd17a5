"""Add segments and the indexes their conditions use

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import logsteer_tui.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            logsteer_tui.db.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            logsteer_tui.db.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(
        "ix_customer_order_contact_total",
        "customer_order",
        ["contact_id", "total_cents"],
    )
    op.create_index(
        "ix_customer_order_contact_date",
        "customer_order",
        ["contact_id", "ordered_at"],
    )
    op.create_index(
        "ix_message_contact_channel",
        "message",
        ["contact_id", "channel", "direction", "status"],
    )
    op.create_index(
        "ix_contact_last_sms_sent_at", "contact", ["last_sms_sent_at", "id"]
    )
    op.create_index(
        "ix_contact_last_sms_received_at", "contact", ["last_sms_received_at", "id"]
    )
    op.create_index(
        "ix_contact_sort_name_received",
        "contact",
        ["sort_name", "last_sms_received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_contact_sort_name_received", table_name="contact")
    op.drop_index("ix_contact_last_sms_received_at", table_name="contact")
    op.drop_index("ix_contact_last_sms_sent_at", table_name="contact")
    op.drop_index("ix_message_contact_channel", table_name="message")
    op.drop_index("ix_customer_order_contact_date", table_name="customer_order")
    op.drop_index("ix_customer_order_contact_total", table_name="customer_order")
    op.drop_table("segment")
