"""Users, password hashes, JWT access tokens and the login rate limit."""
