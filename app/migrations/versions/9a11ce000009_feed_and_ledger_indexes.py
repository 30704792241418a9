"""feed and ledger indexes: kudos events newest first and by author, ledger rows by user and id

Revision ID: 9a11ce000009
Revises: 8a11ce000008
Create Date: 2026-11-23 18:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9a11ce000009'
down_revision = '8a11ce000008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kudos_events', schema=None) as batch_op:
        batch_op.drop_index('ix_kudos_events_created_at')
        batch_op.drop_index('ix_kudos_events_user_id')
        batch_op.create_index('kudos_newest_first', ['created_at', 'id', 'user_id'], unique=False)
        batch_op.create_index('kudos_by_author', ['user_id', 'created_at', 'id'], unique=False)
    with op.batch_alter_table('points_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_points_ledger_user_id')
        batch_op.create_index('ledger_by_user', ['user_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('points_ledger', schema=None) as batch_op:
        batch_op.drop_index('ledger_by_user')
        batch_op.create_index('ix_points_ledger_user_id', ['user_id'], unique=False)
    with op.batch_alter_table('kudos_events', schema=None) as batch_op:
        batch_op.drop_index('kudos_by_author')
        batch_op.drop_index('kudos_newest_first')
        batch_op.create_index('ix_kudos_events_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_kudos_events_created_at', ['created_at'], unique=False)
