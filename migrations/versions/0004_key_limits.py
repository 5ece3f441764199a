"""per-key limits and the index the active-job cap counts with

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_key_limits',
    sa.Column('key_id', sa.Uuid(), nullable=False),
    sa.Column('rate_limit', sa.String(length=200), nullable=True),
    sa.Column('max_active_jobs', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.id'], name=op.f('fk_api_key_limits_key_id_api_keys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_api_key_limits'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_api_key_status', ['api_key_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_api_key_status')

    op.drop_table('api_key_limits')
