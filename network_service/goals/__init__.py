"""Network goals and the roadmap page."""
