"""The abuse suite: what a new user, real life or an adversary does to syncd (issue 9)."""
