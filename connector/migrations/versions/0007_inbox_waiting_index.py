"""inbox index of waiting deliveries, per merchant, orders first

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

WAITING = sa.text("status = 'received'")


def upgrade() -> None:
    # The worker reads a merchant's waiting deliveries off the front of this index (orders first, then
    # by arrival) instead of sorting its whole backlog for every batch.
    with op.batch_alter_table('webhook_inbox', schema=None) as batch_op:
        batch_op.create_index(
            'ix_inbox_waiting',
            ['merchant_id', sa.text("(CASE WHEN (topic LIKE 'order%') THEN 0 ELSE 1 END)"), 'id'],
            unique=False,
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        )


def downgrade() -> None:
    with op.batch_alter_table('webhook_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_waiting')
