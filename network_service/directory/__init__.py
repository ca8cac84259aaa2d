"""The public directory of organisations and networks supporting migrants."""
