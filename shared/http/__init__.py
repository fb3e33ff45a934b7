"""HTTP plumbing shared by the REST API functions: problem+json errors, principal, idempotency, rate limit."""
