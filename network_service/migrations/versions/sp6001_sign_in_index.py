"""help matching: an index on the person's last sign-in

Revision ID: sp6001
Revises:
Create Date: 2026-11-29

The ranking of help requests keeps the network's members per worker (network_service/help/matching.py) and reads
only the sign-ins newer than the kept rows on each ranking: a range of this index instead of a scan of every
person.
"""

from alembic import op

revision = "sp6001"
down_revision = None
branch_labels = ("sign_ins",)
depends_on = "0001"


def upgrade():
    op.create_index("ix_person_last_sign_in_at", "person", ["last_sign_in_at"])


def downgrade():
    op.drop_index("ix_person_last_sign_in_at", table_name="person")
