"""Step code that runs inside Interlock's step images.

`interlock_steps.runtime` is the shared step runtime (params, results, logging,
redaction, exit codes, dry-run, audit log, retries and deadline); each integration's
step module sits beside it and uses it.
"""
