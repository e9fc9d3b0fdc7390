"""Fake Google token services (metadata server, STS, IAM Credentials) for google-auth's keyless
flows; see README.md."""
from .server import AuthConfig, Call, FakeGoogleAuth
from .tokens import TokenInfo, carries_key, mint, read, subject_token

__all__ = ["AuthConfig", "Call", "FakeGoogleAuth", "TokenInfo", "carries_key", "mint", "read", "subject_token"]
