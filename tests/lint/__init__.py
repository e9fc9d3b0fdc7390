"""Tests of `interlock lint`: one broken fixture per rule, schema agreement, tekton-lint."""
