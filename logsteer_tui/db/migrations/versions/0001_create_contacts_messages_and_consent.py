"""Create contacts, messages and consent

Revision ID: 0001
Revises: 
Create Date: 2026-12-04 14:29:06.177637
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import logsteer_tui.db.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('mobile_1', sa.String(length=20), nullable=True),
    sa.Column('phone_1', sa.String(length=20), nullable=True),
    sa.Column('mobile_2', sa.String(length=20), nullable=True),
    sa.Column('phone_2', sa.String(length=20), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('do_not_send_sms', sa.Boolean(), nullable=False),
    sa.Column('do_not_send_email', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Enum('manual', 'import', 'inbound_sms', 'demo', name='contactsource', native_enum=False, length=20), nullable=False),
    sa.Column('listmonk_subscriber_id', sa.Integer(), nullable=True),
    sa.Column('created_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sort_name', sa.String(length=202), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('last_message_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sms_sent_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sms_sent_body', sa.Text(), nullable=True),
    sa.Column('last_sms_received_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_sms_received_body', sa.Text(), nullable=True),
    sa.Column('last_email_sent_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index('ix_contact_created_at', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_contact_email', ['email'], unique=False)
        batch_op.create_index('ix_contact_last_message_at', ['last_message_at', 'id'], unique=False)
        batch_op.create_index('ix_contact_mobile_1', ['mobile_1'], unique=False)
        batch_op.create_index('ix_contact_sort_name', ['sort_name', 'id'], unique=False)

    op.create_table('address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('street', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('created_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.create_index('ix_address_contact_id', ['contact_id'], unique=False)

    op.create_table('customer_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('ordered_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.create_index('ix_customer_order_contact_id', ['contact_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('sms', 'email', name='channel', native_enum=False, length=20), nullable=False),
    sa.Column('direction', sa.Enum('in', 'out', name='direction', native_enum=False, length=20), nullable=False),
    sa.Column('type', sa.Enum('promotional', 'sales', 'transactional', name='messagetype', native_enum=False, length=20), nullable=True),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'error', 'received', name='messagestatus', native_enum=False, length=20), nullable=False),
    sa.Column('from_address', sa.String(length=254), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=998), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('template', sa.Text(), nullable=True),
    sa.Column('parts', sa.Integer(), nullable=True),
    sa.Column('encoding', sa.String(length=8), nullable=True),
    sa.Column('provider', sa.String(length=40), nullable=True),
    sa.Column('provider_message_id', sa.String(length=100), nullable=True),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error_text', sa.Text(), nullable=True),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('created_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'provider_message_id', name='uq_message_provider_id')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_contact_created', ['contact_id', 'created_at'], unique=False)
        batch_op.create_index('ix_message_status', ['status'], unique=False)

    op.create_table('note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.create_index('ix_note_contact_id', ['contact_id'], unique=False)

    op.create_table('consent_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('sms', 'email', name='channel', native_enum=False, length=20), nullable=False),
    sa.Column('action', sa.Enum('opt_out', 'opt_in', name='consentaction', native_enum=False, length=20), nullable=False),
    sa.Column('source', sa.Enum('operator', 'sms_reply', 'provider_error', 'import', 'listmonk', name='consentsource', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index('ix_consent_event_contact_id', ['contact_id', 'created_at'], unique=False)

    op.create_table('message_status_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'error', 'received', name='messagestatus', native_enum=False, length=20), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('created_at', logsteer_tui.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', 'status', name='uq_message_status_event')
    )


def downgrade() -> None:
    op.drop_table('message_status_event')
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_event_contact_id')

    op.drop_table('consent_event')
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_index('ix_note_contact_id')

    op.drop_table('note')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_status')
        batch_op.drop_index('ix_message_contact_created')

    op.drop_table('message')
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_order_contact_id')

    op.drop_table('customer_order')
    with op.batch_alter_table('address', schema=None) as batch_op:
        batch_op.drop_index('ix_address_contact_id')

    op.drop_table('address')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_sort_name')
        batch_op.drop_index('ix_contact_mobile_1')
        batch_op.drop_index('ix_contact_last_message_at')
        batch_op.drop_index('ix_contact_email')
        batch_op.drop_index('ix_contact_created_at')

    op.drop_table('contact')
