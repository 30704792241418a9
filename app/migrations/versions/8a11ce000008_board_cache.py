"""board cache: computed board tops and viewers' places shared by every worker, until they expire

Revision ID: 8a11ce000008
Revises: 5a11ce000005
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8a11ce000008'
down_revision = '5a11ce000005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('board_cache',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('board_cache', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_cache_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('board_cache', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_cache_expires_at'))

    op.drop_table('board_cache')
