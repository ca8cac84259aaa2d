"""Networks of networks: federations, their member networks, shared channels and resources (docs/federations.md)."""
