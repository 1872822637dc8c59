// The worker: poll, decode, validate, group, apply, dead-letter, commit.
