"""API tokens: the form each was made from, so that a form sent twice makes one token

Revision ID: sp13001
Revises:
Create Date: 2026-11-30

The devices page's form carries a random value (accounts/views.py); the token made from it keeps a hash of it,
unique per person. A form sent again (a reload of the page that showed the secret, a double click, a resend with
an older cookie) finds its token and makes no second one whose secret nobody saw. Tokens the operator makes have
none (NULLs are distinct in a unique index, on SQLite and PostgreSQL alike).
"""

import sqlalchemy as sa
from alembic import op

revision = "sp13001"
down_revision = None
branch_labels = ("api_token_forms",)
depends_on = "0001"


def upgrade():
    op.add_column("api_token", sa.Column("form_hash", sa.String(64), nullable=True))
    op.create_index("uq_api_token_person_form", "api_token", ["person_id", "form_hash"], unique=True)


def downgrade():
    op.drop_index("uq_api_token_person_form", table_name="api_token")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("form_hash")
