"""The verification page (SPEC §6): static files (assets/) and what builds them (site)."""
