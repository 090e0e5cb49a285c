"""Regional issuance policy and paper-certificate collection: rules and service."""
