"""The `interlock` tool: lint, index, document, build and run the catalog's Tasks and Pipelines."""
