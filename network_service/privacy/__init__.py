"""Privacy: a member's data export, account erasure, consent records and the retention of raw payloads."""
