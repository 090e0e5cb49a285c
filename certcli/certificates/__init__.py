"""Holder and issuance services: the holder's certificates, roster import, export, scope, processing."""
