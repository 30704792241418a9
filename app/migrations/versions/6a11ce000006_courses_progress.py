"""lesson texts with course versions, lesson opens and course completions

Revision ID: 6a11ce000006
Revises: 4a11ce000004
Create Date: 2026-11-23 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6a11ce000006'
down_revision = '4a11ce000004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lesson_texts',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=500), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['content_versions.id'], ),
    sa.PrimaryKeyConstraint('version_id', 'ref')
    )
    op.create_table('lesson_opens',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('lesson', sa.String(length=500), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'course_id', 'lesson')
    )
    op.create_table('course_completions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['content_versions.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'course_id')
    )


def downgrade():
    op.drop_table('course_completions')
    op.drop_table('lesson_opens')
    op.drop_table('lesson_texts')
