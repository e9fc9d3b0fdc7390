"""Task-level tests: the real Task YAML in the real image through `interlock run`."""
