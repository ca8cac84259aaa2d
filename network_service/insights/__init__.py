"""Insights for a network\x27s leaders: activity, retention, help, goals, the MOOC funnel, quiet members."""
