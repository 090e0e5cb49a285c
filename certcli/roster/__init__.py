"""Roster files: parsing and the streaming worker that feeds an import."""
