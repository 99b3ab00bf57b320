"""One person, many records: deterministic keys, then Splink, then clusters with stable person ids."""
