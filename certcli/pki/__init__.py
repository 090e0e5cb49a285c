"""The issuer's keys: root and seal keys (encrypted at rest) and the public trust bundle."""
